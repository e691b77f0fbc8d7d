{#- Spec §3: empty or blank strings count as missing values everywhere. -#}
{% macro clean_string(expression) -%}
    nullif(trim({{ expression }}), '')
{%- endmacro %}


{#- Spec §3: skill, escalation reason and tag labels: trimmed, lower-case, runs of spaces and dashes become `_`. -#}
{% macro normalise_label(expression) -%}
    nullif({{ regexp_replace_all('lower(trim(' ~ expression ~ '))', '[\\s-]+', '_') }}, '')
{%- endmacro %}


{#- A list of labels (tags): each normalised, blanks dropped. Order and duplicates are kept here. -#}
{% macro normalise_label_list(expression) -%}
    {{ list_map_where(expression, 'label', normalise_label('label'), 'label is not null') }}
{%- endmacro %}


{#- Spec §3: emails trimmed and lower-cased. -#}
{% macro normalise_email(expression) -%}
    nullif(lower(trim({{ expression }})), '')
{%- endmacro %}


{#-
    Spec §3: phone numbers in E.164 (`+` and digits). Separators are dropped.
    A number written with `+` or the international `00` prefix keeps its
    country code. Otherwise it has no country prefix and gets the var
    `default_phone_country_code` (default 1), after dropping one national
    trunk `0`; the exception is a number that already starts with that code
    and is longer than a 10-digit national number (e.g. `1 415 555 0134`).
-#}
{% macro normalise_phone(expression) -%}
    {%- set country_code = var('default_phone_country_code') | string -%}
    {%- if not country_code.isdigit() -%}
        {{ exceptions.raise_compiler_error(
            "var default_phone_country_code must be a calling code made of digits, e.g. '1' or '44'; got '"
            ~ country_code ~ "'. Fix it in dbt_project.yml or --vars.") }}
    {%- endif -%}
    {%- set digits = regexp_replace_all(expression, '[^0-9]', '') %}
    case
        when {{ digits }} = '' then null
        when {{ string_starts_with('trim(' ~ expression ~ ')', "'+'") }}
            then '+' || {{ digits }}
        when {{ string_starts_with(digits, "'00'") }}
            then '+' || substr({{ digits }}, 3)
        when {{ string_starts_with(digits, "'" ~ country_code ~ "'") }}
            and length({{ digits }}) > 10
            then '+' || {{ digits }}
        else '+{{ country_code }}' || regexp_replace({{ digits }}, '^0', '')
    end
{%- endmacro %}


{#- Channel labels are matched on this key against the seed `channel_aliases` (spec §3). -#}
{% macro channel_alias_key(expression) -%}
    nullif({{ regexp_replace_all('lower(trim(' ~ expression ~ '))', '[\\s_-]+', '_') }}, '')
{%- endmacro %}


{#- True when the string starts with `prefix` (a SQL expression). Spark has `startswith`, not `starts_with`. -#}
{% macro string_starts_with(expression, prefix) -%}
    {{- return(adapter.dispatch('string_starts_with', 'customer_agent_warehouse')(expression, prefix)) -}}
{%- endmacro %}

{% macro default__string_starts_with(expression, prefix) -%}starts_with({{ expression }}, {{ prefix }}){%- endmacro %}

{% macro spark__string_starts_with(expression, prefix) -%}startswith({{ expression }}, {{ prefix }}){%- endmacro %}
