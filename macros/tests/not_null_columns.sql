{#-
    Generic data test: none of the listed columns is null. One test node and
    one scan per model instead of one per column (dbt's per-node overhead
    dominates builds of small increments); each failing row names the column
    and how many of its values are null.
      data_tests:
        - not_null_columns:
            arguments:
              columns: [event_id, conversation_id]
-#}
{% test not_null_columns(model, columns) %}

with

null_counts as (

    select
        {%- for column in columns %}
        sum(case when {{ column }} is null then 1 else 0 end) as null_rows_{{ loop.index }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ model }}

)

{% for column in columns %}
select
    '{{ column }}' as null_column,
    null_rows_{{ loop.index }} as null_rows
from null_counts
where null_rows_{{ loop.index }} > 0
{% if not loop.last %}union all{% endif %}
{% endfor %}

{% endtest %}
