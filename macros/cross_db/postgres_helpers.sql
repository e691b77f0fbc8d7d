{#-
    Helper functions an engine lacks, created (or replaced) at the start of every dbt invocation
    (on-run-start in dbt_project.yml), in the target schema; nothing on DuckDB. PostgreSQL 15 has no
    try_cast and no aggregate that concatenates arrays of different lengths.
-#}
{% macro create_engine_helpers() -%}
    {{- return(adapter.dispatch('create_engine_helpers', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__create_engine_helpers() -%}
    select 1
{%- endmacro %}

{% macro postgres__create_engine_helpers() -%}
    create schema if not exists {{ target.schema }};

    create or replace function {{ target.schema }}.ca_try_cast_double(value text) returns double precision
    language plpgsql immutable parallel safe as $$
    begin
        return value::double precision;
    exception when others then
        return null;
    end
    $$;

    create or replace aggregate {{ target.schema }}.ca_array_cat_agg(anycompatiblearray) (
        sfunc = array_cat,
        stype = anycompatiblearray
    );
{%- endmacro %}
