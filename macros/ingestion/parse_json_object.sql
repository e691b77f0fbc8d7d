{#-
    Parse a raw line into a typed struct, or NULL when the line is not a JSON
    object (invalid JSON, an array, a bare value, an empty line). `schema` is a
    DuckDB JSON structure such as {"log_id": "VARCHAR", "tags": ["VARCHAR"]}:
    fields of another JSON type are converted when possible and NULL
    otherwise, unknown fields are ignored. The nested CASE keeps the JSON
    functions away from lines that are not valid JSON; valid JSON that starts
    with `{` is an object (a string test instead of a second parse).
-#}
{% macro parse_json_object(column, schema) -%}
    {{- return(adapter.dispatch('parse_json_object', 'customer_agent_warehouse')(column, schema)) -}}
{%- endmacro %}

{% macro default__parse_json_object(column, schema) -%}
    {{ exceptions.raise_compiler_error("parse_json_object is implemented for DuckDB only") }}
{%- endmacro %}

{% macro duckdb__parse_json_object(column, schema) -%}
    case
        when json_valid({{ column }}) then
            case
                when starts_with(ltrim({{ column }}), '{')
                    then from_json({{ column }}, {{ dbt.string_literal(tojson(schema)) }})
            end
    end
{%- endmacro %}
