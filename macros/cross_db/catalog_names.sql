{#-
    A user names the DuckDB catalog: it is the build file's name (CA_DUCKDB_PATH `my-warehouse.duckdb`
    is the catalog `my-warehouse`; `full`, `it's`, `2026 warehouse` are catalogs too). Wherever a
    name reaches SQL it is a quoted identifier (`"`, with `"` doubled) or a string literal (`'`, with
    `'` doubled). dbt-duckdb's own catalog queries below write the catalog unescaped inside '...'
    (and list_schemas receives it already quoted), so this project overrides them (dbt looks for
    `duckdb__` macros in the root project first); each differs from dbt-duckdb's only in the quoting.
-#}

{#- The catalog's plain name: dbt hands some macros the quoted form (`"my-warehouse"`). -#}
{% macro ca_plain_name(name) -%}
    {%- set text = name | string -%}
    {%- if text | length >= 2 and text.startswith('"') and text.endswith('"') -%}
        {%- set text = text[1:-1] | replace('""', '"') -%}
    {%- endif -%}
    {{- return(text) -}}
{%- endmacro %}

{#- A name as a SQL string literal, quotes included. -#}
{% macro ca_sql_literal(name) -%}
    {{- return("'" ~ (ca_plain_name(name) | replace("'", "''")) ~ "'") -}}
{%- endmacro %}

{#- A name as a quoted identifier. -#}
{% macro ca_quoted_identifier(name) -%}
    {{- return('"' ~ (ca_plain_name(name) | replace('"', '""')) ~ '"') -}}
{%- endmacro %}

{% macro duckdb__create_schema(relation) -%}
  {%- call statement('create_schema') -%}
    {% set sql %}
        select type from duckdb_databases()
        where lower(database_name) = lower({{ ca_sql_literal(relation.database) }})
        and type != 'duckdb'
    {% endset %}
    {% set results = run_query(sql) %}
    {% if results | length == 0 %}
        create schema if not exists {{ relation.without_identifier() }}
    {% else %}
        {% set attached_type = results.columns[0].values()[0] %}
        {% if attached_type == 'sqlite' and relation.schema != 'main' %}
            {{ exceptions.raise_compiler_error("Schema must be 'main' when writing to sqlite instead got " ~ relation.schema) }}
        {% elif attached_type not in ['sqlite', 'mysql'] %}
            create schema if not exists {{ relation.without_identifier() }}
        {% endif %}
    {% endif %}
  {%- endcall -%}
{% endmacro %}

{% macro duckdb__list_schemas(database) -%}
  {% set sql %}
    select schema_name
    from system.information_schema.schemata
    {% if database is not none %}
    where lower(catalog_name) = lower({{ ca_sql_literal(database) }})
    {% endif %}
  {% endset %}
  {{ return(run_query(sql)) }}
{% endmacro %}

{% macro duckdb__check_schema_exists(information_schema, schema) -%}
  {% set sql -%}
        select count(*)
        from system.information_schema.schemata
        where lower(schema_name) = lower({{ ca_sql_literal(schema) }})
        and lower(catalog_name) = lower({{ ca_sql_literal(information_schema.database) }})
  {%- endset %}
  {{ return(run_query(sql)) }}
{% endmacro %}

{% macro duckdb__list_relations_without_caching(schema_relation) %}
  {% call statement('list_relations_without_caching', fetch_result=True) -%}
    select
      {{ ca_sql_literal(schema_relation.database) }} as database,
      table_name as name,
      table_schema as schema,
      case table_type
        when 'BASE TABLE' then 'table'
        when 'VIEW' then 'view'
        when 'LOCAL TEMPORARY' then 'table'
        end as type
    from system.information_schema.tables
    where lower(table_schema) = lower({{ ca_sql_literal(schema_relation.schema) }})
    and lower(table_catalog) = lower({{ ca_sql_literal(schema_relation.database) }})
  {% endcall %}
  {{ return(load_result('list_relations_without_caching').table) }}
{% endmacro %}

{#- Called by dbt-duckdb's table and incremental materializations on every rebuild (not dispatched). -#}
{% macro drop_indexes_on_relation(relation) -%}
  {% call statement('get_indexes_on_relation', fetch_result=True, auto_begin=False) %}
    select index_name
    from duckdb_indexes()
    where database_name = {{ ca_sql_literal(relation.database) }}
      and schema_name = {{ ca_sql_literal(relation.schema) }}
      and table_name = {{ ca_sql_literal(relation.identifier) }}
  {% endcall %}

  {% set results = load_result('get_indexes_on_relation').table %}
  {% for row in results %}
    {% call statement('drop_index_' + loop.index | string, auto_begin=false) %}
      drop index {{ ca_quoted_identifier(relation.database) }}.{{ ca_quoted_identifier(relation.schema) }}.{{ ca_quoted_identifier(row[0]) }}
    {% endcall %}
  {% endfor %}
{%- endmacro %}

{#- dbt-postgres wrote the database (CA_PG_DATABASE, e.g. `it's`) unescaped inside '...'. -#}
{% macro postgres__list_relations_without_caching(schema_relation) %}
  {% set database = ca_sql_literal(schema_relation.database) %}
  {% set schema = ca_sql_literal(schema_relation.schema) %}
  {% call statement('list_relations_without_caching', fetch_result=True) -%}
    select {{ database }} as database, tablename as name, schemaname as schema, 'table' as type
    from pg_tables
    where schemaname ilike {{ schema }}
    union all
    select {{ database }} as database, viewname as name, schemaname as schema, 'view' as type
    from pg_views
    where schemaname ilike {{ schema }}
    union all
    select {{ database }} as database, matviewname as name, schemaname as schema, 'materialized_view' as type
    from pg_matviews
    where schemaname ilike {{ schema }}
    union all
    select distinct {{ database }} as database, proname as name, ns.nspname as schema, 'function' as type
    from pg_proc
    inner join pg_namespace as ns on pronamespace = ns.oid
    where ns.nspname ilike {{ schema }}
  {% endcall %}
  {{ return(load_result('list_relations_without_caching').table) }}
{% endmacro %}
