{#-
    Generic data test: the combination of columns is unique (e.g. day × channel).
    `changed_column` (the start of the build that wrote the row) limits the check to
    the combinations of the rows in the data tests' scope (macros/tests/changed_rows.sql),
    counted over the whole table, as in primary_key.
-#}
{% test unique_combination(model, columns, changed_column=none) %}

select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }} as checked
{%- if changed_column is not none and not data_tests_check_every_row() %}
where exists (
    select 1 from {{ model }} as changed
    where
        {{ in_data_tests_scope('changed.' ~ changed_column) }}
        {%- for column in columns %}
        and changed.{{ column }} = checked.{{ column }}
        {%- endfor %}
)
{%- endif %}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
