{#-
    Generic data test: the column is a key, i.e. never null and never repeated
    (dbt's `unique` and `not_null` in one node and one scan: dbt's per-node
    overhead dominates builds of small increments). Each failing row is a
    repeated or null value with how many rows hold it.
      columns:
        - name: log_id
          data_tests: [primary_key]
    On a large incremental table, `changed_column` (the start of the build that
    wrote the row) limits the check to the keys of the rows in the data tests'
    scope (macros/tests/changed_rows.sql), counted over the whole table: a new
    row that repeats an old key still fails.
        - name: log_id
          data_tests:
            - primary_key:
                arguments: {changed_column: processed_at}
-#}
{% test primary_key(model, column_name, changed_column=none) %}

select
    {{ column_name }} as key_value,
    count(*) as occurrences
from {{ model }}
{%- if changed_column is not none and not data_tests_check_every_row() %}
where
    {{ column_name }} in (
        select changed.{{ column_name }} from {{ model }} as changed
        where {{ in_data_tests_scope('changed.' ~ changed_column) }}
    )
    or ({{ column_name }} is null and {{ in_data_tests_scope(changed_column) }})
{%- endif %}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null

{% endtest %}
