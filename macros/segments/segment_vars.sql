{#-
    Spec §5: the knobs of the segments are dbt vars, parsed and validated
    here, once. A bad value stops the build (compiler error naming the var
    and the accepted form) instead of silently producing empty segments.
-#}


{#-
    The `as_of` var as a UTC SQL timestamp literal. Accepted: null or blank
    (the start of this dbt invocation, so every segment of one build shares
    the same instant); an ISO-8601 date-time with `Z` or an offset, converted
    to UTC (`2026-11-20T13:00:00+01:00` is 12:00 UTC); a date-time without an
    offset, read as UTC (like every timestamp of the warehouse); a date alone,
    meaning midnight UTC. `T` or a space separates date and time; seconds and
    fractions (up to microseconds) are optional. YAML may hand over an
    unquoted timestamp as a datetime object: it is read through its text.
-#}
{% macro segment_as_of() -%}
    {%- set raw = var('as_of') -%}
    {%- if raw is none or (raw | string | trim) == '' -%}
        {{- return(run_started_timestamp()) -}}
    {%- endif -%}
    {%- set text = raw | string | trim -%}
    {%- set invalid_message = "var as_of must be an ISO-8601 timestamp such as 2026-11-20T12:00:00Z "
        ~ "(Z or an offset such as +01:00, converted to UTC; no offset means UTC; a date alone means midnight UTC; "
        ~ "null means the time of the build); got '" ~ text ~ "'" -%}
    {%- set match = modules.re.fullmatch(
        '([0-9]{4})-([0-9]{2})-([0-9]{2})'
        ~ '(?:[Tt ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)? *([Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)?)?',
        text
    ) -%}
    {%- if not match -%}
        {{- exceptions.raise_compiler_error(invalid_message) -}}
    {%- endif -%}
    {%- set year = match.group(1) | int -%}
    {%- set month = match.group(2) | int -%}
    {%- set day = match.group(3) | int -%}
    {%- set hour = (match.group(4) or '0') | int -%}
    {%- set minute = (match.group(5) or '0') | int -%}
    {%- set second = (match.group(6) or '0') | int -%}
    {%- set microsecond = ((match.group(7) or '') ~ '000000')[:6] | int -%}
    {%- set is_leap_year = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
    {%- set days_in_month = [31, 29 if is_leap_year else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
    {%- if year < 1 or month < 1 or month > 12 or day < 1 or day > days_in_month[month - 1]
        or hour > 23 or minute > 59 or second > 59 -%}
        {{- exceptions.raise_compiler_error(invalid_message) -}}
    {%- endif -%}
    {%- set offset = match.group(8) or 'Z' -%}
    {%- set offset_minutes = 0 -%}
    {%- if offset not in ('Z', 'z') -%}
        {%- set offset_digits = offset[1:] | replace(':', '') -%}
        {%- set offset_hours = offset_digits[:2] | int -%}
        {%- set offset_extra_minutes = (offset_digits[2:] or '0') | int -%}
        {%- if offset_hours > 23 or offset_extra_minutes > 59 -%}
            {{- exceptions.raise_compiler_error(invalid_message) -}}
        {%- endif -%}
        {%- set offset_minutes = (offset_hours * 60 + offset_extra_minutes) * (-1 if offset[0] == '-' else 1) -%}
    {%- endif -%}
    {%- set local_time = modules.datetime.datetime(year, month, day, hour, minute, second, microsecond) -%}
    {%- set utc_time = local_time - modules.datetime.timedelta(minutes=offset_minutes) -%}
    {{- return("cast('" ~ utc_time.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as " ~ dbt.type_timestamp() ~ ")") -}}
{%- endmacro %}


{#-
    The unit of a window var, from its name: `*_days` or `*_hours`
    (recommendation_lookback_days, escalation_suppression_days,
    followup_delay_hours, followup_window_days).
-#}
{% macro segment_window_unit(var_name) -%}
    {%- if var_name.endswith('_days') -%}
        {{- return('days') -}}
    {%- elif var_name.endswith('_hours') -%}
        {{- return('hours') -}}
    {%- endif -%}
    {{- exceptions.raise_compiler_error(
        "segment_window: the name of a window var ends in _days or _hours; got '" ~ var_name ~ "'") -}}
{%- endmacro %}


{#-
    A window var as a validated non-negative number (an integer, or a decimal
    such as 1.5). Anything else (negative, not a number, null) stops the build.
-#}
{% macro segment_window(var_name) -%}
    {%- set unit = segment_window_unit(var_name) -%}
    {%- set raw = var(var_name) -%}
    {%- set text = 'null' if raw is none else raw | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]+(?:[.][0-9]+)?', text) -%}
        {{- exceptions.raise_compiler_error(
            "var " ~ var_name ~ " must be a non-negative number of " ~ unit
            ~ " such as " ~ ('2' if unit == 'hours' else '7') ~ " or 1.5; got '" ~ text ~ "'") -}}
    {%- endif -%}
    {{- return(text | float if '.' in text else text | int) -}}
{%- endmacro %}


{#- A window var as a SQL interval, e.g. `interval '30 days'` or `interval '1.5 hours'`. -#}
{% macro segment_interval(var_name) -%}
    {{- return("interval '" ~ segment_window(var_name) ~ " " ~ segment_window_unit(var_name) ~ "'") -}}
{%- endmacro %}


{#- `as_of` minus a window var: the exclusive start of "the last N days before as_of". -#}
{% macro segment_as_of_minus(var_name) -%}
    {{- return("(" ~ segment_as_of() ~ " - " ~ segment_interval(var_name) ~ ")") -}}
{%- endmacro %}
