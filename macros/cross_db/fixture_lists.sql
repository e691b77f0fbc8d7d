{#-
    dbt unit-test fixtures (dict and csv rows) give list values in DuckDB's text form: `[a, b]`, `[]`, and
    lists of records `[{product_id: p1, sku: NULL}, ...]`; dbt casts each value with `safe_cast` to the
    column type. DuckDB reads that form natively; on PostgreSQL this override turns it into an array
    (`text[]`), an array of jsonb records (`jsonb[]`) or a jsonb array of records (`jsonb`, the lists
    of records of the base models), so one fixture serves both engines. Any other value is cast as
    dbt does by default.
-#}
{% macro postgres__safe_cast(field, type) -%}
    {%- set text = field | string -%}
    {%- if (type.endswith('[]') or type == 'jsonb') and text.startswith("'[") and text.endswith("]'") -%}
        {{- return(postgres_list_literal(text[1:-1] | replace("''", "'"), type)) -}}
    {%- endif -%}
    {{- return(dbt.default__safe_cast(field, type)) -}}
{%- endmacro %}


{#- One element of DuckDB's text form as a SQL literal: NULL, or a string (quotes around it dropped). -#}
{% macro postgres_fixture_value(text) -%}
    {%- set value = text | trim -%}
    {%- if value == 'NULL' -%}
        {{- return('null') -}}
    {%- endif -%}
    {%- if value | length >= 2 and value[0] == value[-1] and value[0] in ["'", '"'] -%}
        {%- set value = value[1:-1] -%}
    {%- endif -%}
    {{- return(dbt.string_literal(dbt.escape_single_quotes(value))) -}}
{%- endmacro %}


{% macro postgres_list_literal(text, type) -%}
    {%- set body = text[1:-1] | trim -%}
    {%- set elements = [] -%}
    {%- if type in ('jsonb[]', 'jsonb') -%}
        {%- for record in modules.re.findall('[{]([^{}]*)[}]', body) -%}
            {%- set pairs = [] -%}
            {%- for pair in record.split(',') if pair | trim -%}
                {%- set key, value = pair.split(':', 1) -%}
                {%- do pairs.append(postgres_fixture_value(key) ~ ', ' ~ postgres_fixture_value(value)) -%}
            {%- endfor -%}
            {%- do elements.append('jsonb_build_object(' ~ pairs | join(', ') ~ ')') -%}
        {%- endfor -%}
    {%- elif body -%}
        {%- for element in body.split(',') -%}
            {%- do elements.append(postgres_fixture_value(element)) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if type == 'jsonb' -%}
        {{- return('jsonb_build_array(' ~ elements | join(', ') ~ ')') -}}
    {%- endif -%}
    {{- return('cast(array[' ~ elements | join(', ') ~ '] as ' ~ type ~ ')') -}}
{%- endmacro %}
