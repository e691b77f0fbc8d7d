{#-
    Spec §9: the daily BI marts cut days in the IANA time zone of the var
    `reporting_timezone` (default `UTC`). This is the only place that reads
    the var and the only place that turns a timestamp into a reporting day.

    reporting_timezone(): the var, validated at compile time against the time
    zones the engine knows (macro timezone_names_query); an unknown name stops
    the build with a compiler error naming the var and the accepted form.
    to_reporting_date(column): the calendar date, in the reporting time zone,
    of a UTC timestamp column (the warehouse's `*_at` columns are naive UTC).
-#}
{% macro reporting_timezone() -%}
    {%- set timezone = var('reporting_timezone', 'UTC') -%}
    {%- set accepted_form = "an IANA time zone name as listed by pg_timezone_names() (case-sensitive), "
        ~ "e.g. 'UTC', 'Europe/Rome', 'America/New_York'" -%}
    {%- if timezone is not string or timezone | trim == '' -%}
        {% do exceptions.raise_compiler_error(
            "var reporting_timezone must be " ~ accepted_form ~ "; got: " ~ timezone
        ) %}
    {%- endif -%}
    {%- if execute -%}
        {%- set known_timezones = run_query(timezone_names_query()).columns[0].values() -%}
        {%- if timezone not in known_timezones -%}
            {% do exceptions.raise_compiler_error(
                "var reporting_timezone = '" ~ timezone ~ "' is not a valid time zone: use " ~ accepted_form ~ "."
            ) %}
        {%- endif -%}
    {%- endif -%}
    {{- return(timezone) -}}
{%- endmacro %}


{% macro to_reporting_date(column) -%}
    {{- return(adapter.dispatch('to_reporting_date', 'customer_agent_warehouse')(column)) -}}
{%- endmacro %}

{% macro default__to_reporting_date(column) -%}
    cast(({{ column }} at time zone 'UTC') at time zone '{{ reporting_timezone() }}' as date)
{%- endmacro %}

{#- Spark's timestamps are UTC instants (session time zone UTC): the wall clock of the zone, as a date. -#}
{% macro spark__to_reporting_date(column) -%}
    to_date(from_utc_timestamp({{ column }}, '{{ reporting_timezone() }}'))
{%- endmacro %}
