{#-
    Spec §2/§3: a time is ISO-8601 with `Z` or an offset, or epoch
    milliseconds (a JSON integer, which arrives here as its digits). The result
    is a UTC `timestamp`; anything unparseable is NULL (the caller rejects the
    record). An ISO string without an offset is read as UTC (the connection's
    TimeZone is UTC, see profiles/profiles.yml).
-#}
{% macro to_utc_timestamp(expression) -%}
    {{- return(adapter.dispatch('to_utc_timestamp', 'customer_agent_warehouse')(expression)) -}}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(expression) -%}
    case
        when ltrim(trim({{ expression }}), '-0123456789') = ''
            then epoch_ms(try_cast(trim({{ expression }}) as bigint))
        else try_cast(trim({{ expression }}) as timestamptz) at time zone 'UTC'
    end
{%- endmacro %}
