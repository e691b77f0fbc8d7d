{#-
    dbt-postgres reports the type of an array column as `ARRAY` (information_schema.columns.data_type),
    which is not a type: dbt then writes `cast(null as ARRAY)` (unit-test fixtures) and cannot compare
    list columns. Same query as dbt-postgres's, with the real type for arrays (`text[]`, `jsonb[]`) and
    user-defined types, and an unbounded `character varying` (seeds typed `varchar`) as `text`, the
    same type on PostgreSQL: an incremental model's new rows then match its contract's `text` columns
    (`on_schema_change: fail` compares these types). The dbt namespace looks in this project first,
    so this version is the one used.
-#}
{% macro postgres__get_columns_in_relation(relation) -%}
  {% call statement('get_columns_in_relation', fetch_result=True) %}
      select
          column_name,
          case
              when data_type = 'ARRAY' then substr(udt_name, 2) || '[]'
              when data_type = 'USER-DEFINED' then udt_name
              when data_type = 'character varying' and character_maximum_length is null then 'text'
              else data_type
          end as data_type,
          character_maximum_length,
          numeric_precision,
          numeric_scale
      from {{ relation.information_schema('columns') }}
      where table_name = '{{ relation.identifier }}'
        {% if relation.schema %}
        and table_schema = '{{ relation.schema }}'
        {% endif %}
      order by ordinal_position
  {% endcall %}
  {% set table = load_result('get_columns_in_relation').table %}
  {{ return(sql_convert_columns_in_relation(table)) }}
{% endmacro %}
