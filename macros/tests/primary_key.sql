{#-
    Generic data test: the column is a key, i.e. never null and never repeated
    (dbt's `unique` and `not_null` in one node and one scan: dbt's per-node
    overhead dominates builds of small increments). Each failing row is a
    repeated or null value with how many rows hold it.
      columns:
        - name: log_id
          data_tests: [primary_key]
-#}
{% test primary_key(model, column_name) %}

select
    {{ column_name }} as key_value,
    count(*) as occurrences
from {{ model }}
group by {{ column_name }}
having count(*) > 1 or {{ column_name }} is null

{% endtest %}
