{#-
    Parse a raw line into a typed struct, or NULL when the line is not a JSON
    object (invalid JSON, an array, a bare value, an empty line); never fails
    the query. `schema` is a DuckDB JSON structure such
    as {"log_id": "VARCHAR", "tags": ["VARCHAR"]}: unknown fields are ignored; a
    field of another JSON type is converted when possible and NULL otherwise,
    which `has_wrong_json_type` then tells apart from a missing field.
-#}
{% macro parse_json_object(column, schema) -%}
    {{- return(adapter.dispatch('parse_json_object', 'customer_agent_warehouse')(column, schema)) -}}
{%- endmacro %}

{% macro default__parse_json_object(column, schema) -%}
    {{ exceptions.raise_compiler_error("parse_json_object is not implemented for " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__parse_json_object(column, schema) -%}
    {#- Not try(from_json(...)): a vector with one malformed line would be re-evaluated row by row. -#}
    case
        when json_valid({{ column }}) and starts_with(ltrim({{ column }}), '{')
            then from_json({{ column }}, {{ dbt.string_literal(tojson(schema)) }})
    end
{%- endmacro %}


{#- The JSON type of `field` in the raw line (VARCHAR, BIGINT, UBIGINT, DOUBLE, BOOLEAN, OBJECT, ARRAY, NULL), null when absent. -#}
{% macro json_field_type(column, field) -%}
    {{- return(adapter.dispatch('json_field_type', 'customer_agent_warehouse')(column, field)) -}}
{%- endmacro %}

{% macro duckdb__json_field_type(column, field) -%}
    json_type({{ column }}, {{ dbt.string_literal('$."' ~ field ~ '"') }})
{%- endmacro %}


{#-
    True when `field` of the raw line has a JSON type its typed value cannot
    hold without losing it (spec §6: wrong types are not silently lost).
    `kind` is the expected type:
    - `string`: strings and numbers are kept (a number as its JSON text);
      booleans, objects and arrays are wrong;
    - `list`: an array (or null) is expected; `value` is the typed list;
    - `number`: a finite number (or null) is expected; `value` is the typed number.
    Cheap tests on the typed value come first, so the raw line is parsed a second
    time only for the few lines that look suspicious. Only for lines that parsed
    (guard the call with `case when record is not null`).
-#}
{% macro has_wrong_json_type(column, field, value, kind) -%}
    {%- if kind == 'string' -%}
    case
        when {{ value }} in ('true', 'false') or left({{ value }}, 1) in ('{', '[')
            then {{ json_field_type(column, field) }} in ('BOOLEAN', 'OBJECT', 'ARRAY')
        else false
    end
    {%- elif kind in ('list', 'number') -%}
    case
        when {{ value }} is null and contains({{ column }}, {{ dbt.string_literal('"' ~ field ~ '"') }})
            then {{ json_field_type(column, field) }} is distinct from 'NULL'
        else false
    end
    {%- else -%}
        {{ exceptions.raise_compiler_error("has_wrong_json_type: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}


{#- True when `field` (an array the typed value holds) has an element that is not a JSON object. -#}
{% macro has_non_object_element(column, field, value) -%}
    {{- return(adapter.dispatch('has_non_object_element', 'customer_agent_warehouse')(column, field, value)) -}}
{%- endmacro %}

{% macro duckdb__has_non_object_element(column, field, value) -%}
    case
        when len({{ value }}) > 0
            then len(list_filter(
                json_type({{ column }}, {{ dbt.string_literal('$."' ~ field ~ '"[*]') }}),
                lambda element_type: element_type <> 'OBJECT'
            )) > 0
        else false
    end
{%- endmacro %}


{#- Name of the first field of `checks` (a list of (field, value, kind)) with a wrong JSON type, else null. -#}
{% macro first_wrong_json_type(column, checks) -%}
    case
        {%- for field, value, kind in checks %}
        when ({{ has_wrong_json_type(column, field, value, kind) }}) then '{{ field }}'
        {%- endfor %}
    end
{%- endmacro %}
