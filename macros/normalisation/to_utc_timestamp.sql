{#-
    Spec §2/§3: a time is ISO-8601 with `Z` or an offset, or epoch
    milliseconds (a JSON integer, which arrives here as its digits). The result
    is a UTC `timestamp`; anything else is NULL (the caller rejects the record),
    and nothing here can fail a query: words such as `infinity` or `epoch`, and
    epochs beyond years 1-9999, are NULL. An ISO string without an offset is read
    as UTC (the connection's TimeZone is UTC, see profiles/profiles.yml). Whether
    a parsed time is plausible is `is_plausible_timestamp`'s question.
-#}
{% macro to_utc_timestamp(expression) -%}
    {{- return(adapter.dispatch('to_utc_timestamp', 'customer_agent_warehouse')(expression)) -}}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    cast({{ expression }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(expression) -%}
    case
        when {{ is_epoch_text(expression) }}
            then
                case
                    when try_cast(trim({{ expression }}) as bigint) between -62135596800000 and 253402300799999
                        then epoch_ms(try_cast(trim({{ expression }}) as bigint))
                end
        when left(trim({{ expression }}), 1) between '0' and '9'
            then try_cast(trim({{ expression }}) as timestamptz) at time zone 'UTC'
    end
{%- endmacro %}


{% macro postgres__to_utc_timestamp(expression) -%}
    case
        when {{ is_epoch_text(expression) }}
            then
                case
                    when trim({{ expression }})::numeric between -62135596800000 and 253402300799999
                        then to_timestamp(trim({{ expression }})::numeric / 1000) at time zone 'UTC'
                end
        when left(trim({{ expression }}), 1) between '0' and '9'
            then ca_timestamptz_or_null(trim({{ expression }})) at time zone 'UTC'
    end
{%- endmacro %}


{#-
    Spark: one guard regex (the ISO-8601 forms the other engines read) before the cast, as Spark's cast
    alone also reads `2026`, `T10:00` (today) or zone names; epoch milliseconds range-checked before
    timestamp_millis, which raises on overflow even with ANSI off.
-#}
{% macro spark__to_utc_timestamp(expression) -%}
    case
        when {{ is_epoch_text(expression) }}
            then
                case
                    when try_cast(trim({{ expression }}) as bigint) between -62135596800000 and 253402300799999
                        then timestamp_millis(try_cast(trim({{ expression }}) as bigint))
                end
        when trim({{ expression }}) rlike r'^[0-9]{4}-[0-9][0-9]-[0-9][0-9]([Tt ][0-9][0-9]:[0-9][0-9](:[0-9][0-9](\.[0-9]+)?)?)? ?([Zz]|[+-](0[0-9]|1[0-5])(:?[0-5][0-9])?)?$'
            and left(trim({{ expression }}), 4) <> '0000'
            then try_cast(trim({{ expression }}) as timestamp)
    end
{%- endmacro %}


{#- True when a string is made of digits only (and not empty). -#}
{% macro is_unsigned_digits(expression) -%}
    {{- return(adapter.dispatch('is_unsigned_digits', 'customer_agent_warehouse')(expression)) -}}
{%- endmacro %}

{% macro default__is_unsigned_digits(expression) -%}
    ltrim({{ expression }}, '0123456789') = ''
{%- endmacro %}

{% macro spark__is_unsigned_digits(expression) -%}
    ({{ expression }} rlike r'^[0-9]*$')
{%- endmacro %}


{#- True when a time given as digits is epoch seconds read as milliseconds: in range only once multiplied by 1000. -#}
{% macro looks_like_epoch_seconds(text_expression) -%}
    (
        {{ is_unsigned_digits('trim(' ~ text_expression ~ ')') }}
        and length(trim({{ text_expression }})) between 9 and 11
        and {{ is_plausible_timestamp(to_utc_timestamp(text_expression ~ " || '000'")) }}
    )
{%- endmacro %}


{#-
    Spec §6: times outside a plausible window are rejected (timestamp_out_of_range):
    not before the var `timestamp_min` (default 2000-01-01), not later than
    `timestamp_max_days_after_build` days (default 1) after the window's anchor
    (`timestamp_window_anchor`, default: the start of the build).
-#}
{% macro is_plausible_timestamp(expression) -%}
    {%- set minimum = var('timestamp_min') | string -%}
    {%- set days_after = var('timestamp_max_days_after_build') | string -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.]+)?', minimum) -%}
        {{ exceptions.raise_compiler_error(
            "var timestamp_min must be an ISO date such as '2000-01-01'; got '" ~ minimum
            ~ "'. Fix it in dbt_project.yml or --vars.") }}
    {%- endif -%}
    {%- if not days_after.isdigit() -%}
        {{ exceptions.raise_compiler_error(
            "var timestamp_max_days_after_build must be a whole number of days such as 1; got '" ~ days_after
            ~ "'. Fix it in dbt_project.yml or --vars.") }}
    {%- endif -%}
    {%- set maximum = (timestamp_window_anchor() + modules.datetime.timedelta(days=days_after | int)).strftime('%Y-%m-%d %H:%M:%S.%f') -%}
    ({{ expression }} between cast('{{ minimum }}' as {{ dbt.type_timestamp() }})
        and cast('{{ maximum }}' as {{ dbt.type_timestamp() }}))
{%- endmacro %}


{#-
    The instant the plausible window's end counts from: the var `timestamp_window_anchor` (an ISO-8601 UTC
    date or date-time, `Z` or `+00:00` allowed), or the start of the build when it is empty or null. Pinning it
    keeps the window fixed whatever the clock says (the test suite pins it through CA_TIMESTAMP_WINDOW_ANCHOR).
-#}
{% macro timestamp_window_anchor() -%}
    {%- set raw = var('timestamp_window_anchor', none) -%}
    {%- set text = '' if raw is none else raw | string | trim -%}
    {%- if text == '' -%}
        {{- return(run_started_at) -}}
    {%- endif -%}
    {%- set match = modules.re.fullmatch(
        '([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)? *(?:[Zz]|[+]00:?00)?', text) -%}
    {%- if not match -%}
        {{- exceptions.raise_compiler_error(
            "var timestamp_window_anchor must be an ISO-8601 UTC time such as 2026-12-01T00:00:00Z, or empty for "
            ~ "the start of the build; got '" ~ text ~ "'. Fix it in dbt_project.yml, --vars or "
            ~ "CA_TIMESTAMP_WINDOW_ANCHOR.") -}}
    {%- endif -%}
    {%- set clock = (match.group(2) or '00') ~ ':' ~ (match.group(3) or '00') ~ ':' ~ (match.group(4) or '00') -%}
    {{- return(modules.datetime.datetime.strptime(match.group(1) ~ ' ' ~ clock, '%Y-%m-%d %H:%M:%S')) -}}
{%- endmacro %}
