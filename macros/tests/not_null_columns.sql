{#-
    Generic data test: none of the listed columns is null. One test node per
    model instead of one per column (dbt's per-node overhead dominates builds
    of small increments); each failing row names the column and how many of
    its values are null.
      data_tests:
        - not_null_columns:
            arguments:
              columns: [event_id, conversation_id]
-#}
{% test not_null_columns(model, columns) %}

{% for column in columns %}
select
    '{{ column }}' as null_column,
    count(*) as null_rows
from {{ model }}
where {{ column }} is null
having count(*) > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
