{#-
    Generic data test: every row satisfies a SQL boolean expression (rows
    where it is false or null fail). Usage in a model's yml:
      data_tests:
        - expression_is_true:
            arguments:
              expression: "lines_read = staged + duplicates + rejected"
-#}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
