{#-
    Small SQL functions an engine lacks, created at the start of every run
    (`on-run-start` in dbt_project.yml; idempotent). DuckDB needs none. PostgreSQL
    15 has no try_cast: these helpers turn a value that does not convert into NULL,
    so that one bad raw line can never fail a query, and parse each raw line once;
    nor an aggregate that concatenates arrays of different lengths.
-#}
{% macro create_engine_functions() -%}
    {{- return(adapter.dispatch('create_engine_functions', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__create_engine_functions() -%}
    select 1
{%- endmacro %}

{% macro postgres__create_engine_functions() -%}
    {%- set schema = target.schema -%}
    create schema if not exists {{ schema }};

    -- An ISO-8601 time (Z, an offset or none), or NULL: checked by pattern and calendar first,
    -- so the cast can never fail (no exception handler: this runs for every line).
    create or replace function {{ schema }}.ca_timestamptz_or_null(value text) returns timestamptz
    language sql stable parallel safe as $fn$
        select case
            when value ~ '^\d{4}-\d\d-\d\d([Tt ]\d\d:\d\d(:\d\d(\.\d+)?)?)? ?([Zz]|[+-](0\d|1[0-5])(:?[0-5]\d)?)?$'
                and substr(value, 1, 4) <> '0000'
                and substr(value, 6, 2) between '01' and '12'
                and substr(value, 9, 2) between '01' and '31'
                and (length(value) = 10 or (substr(value, 12, 2) <= '23' and substr(value, 15, 2) <= '59'
                    and (substr(value, 17, 1) <> ':' or substr(value, 18, 2) <= '59')))
                and (substr(value, 9, 2) <= '28' or substr(value, 9, 2)::int <= extract(day from (
                    make_date(substr(value, 1, 4)::int, substr(value, 6, 2)::int, 1) + interval '1 month - 1 day')))
                then value::timestamptz
        end
    $fn$;

    -- An exact money value (decimal with 4 places), NULL when not a finite number in range.
    create or replace function {{ schema }}.ca_money_or_null(value text) returns {{ money_type() }}
    language sql immutable parallel safe as $fn$
        select case
            when value ~ '^\s*-?\d{1,14}(\.\d+)?\s*$' then value::numeric::{{ money_type() }}
        end
    $fn$;

    -- The strings of a JSON array (other elements as their JSON text), NULL when not an array.
    create or replace function {{ schema }}.ca_jsonb_text_array(value jsonb) returns text[]
    language sql immutable parallel safe as $fn$
        select case
            when jsonb_typeof(value) = 'array' then array(select jsonb_array_elements_text(value))
        end
    $fn$;

    -- A string as a double, NULL when it is not a number (never an error): macro try_cast_double.
    create or replace function {{ schema }}.ca_try_cast_double(value text) returns double precision
    language plpgsql immutable parallel safe as $fn$
    begin
        return value::double precision;
    exception when others then
        return null;
    end
    $fn$;

    -- Concatenation of arrays of any lengths (array_agg needs equal lengths): macro sorted_distinct_flatten_agg.
    create or replace aggregate {{ schema }}.ca_array_cat_agg(anycompatiblearray) (
        sfunc = array_cat,
        stype = anycompatiblearray
    );
{%- endmacro %}
