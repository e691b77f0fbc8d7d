{#-
    Parsing a raw line, in one place per engine. A base model lists its fields
    once, as a dict field -> kind:
    - `string`: text (a JSON number is kept as its text, e.g. 12 -> '12');
    - `string_list`: an array of strings (elements of another type kept as JSON text);
    - `product_list` / `item_list`: an array of objects {product_id, sku} /
      {product_id, sku, quantity, price};
    - `money`: an exact decimal (money_type()).
    `parse_json_object` turns the line into a record (NULL when the line is not a
    JSON object: invalid JSON, an array, a bare value, an empty line) with one parse
    per line that never fails the query; `json_field` reads one field of it.
-#}
{#-
    The JSON text of a raw line for the JSON functions: on DuckDB the line itself;
    on PostgreSQL the `json_document` (jsonb) the loader parsed once per line
    (null unless the line is a JSON object), see customer_agent_warehouse/ingest/postgres_loader.py.
-#}
{% macro json_document(raw_line) -%}
    {{- return(adapter.dispatch('json_document', 'customer_agent_warehouse')(raw_line)) -}}
{%- endmacro %}

{% macro default__json_document(raw_line) -%}
    {{ raw_line }}
{%- endmacro %}

{% macro postgres__json_document(raw_line) -%}
    json_document
{%- endmacro %}


{% macro parse_json_object(column, fields) -%}
    {{- return(adapter.dispatch('parse_json_object', 'customer_agent_warehouse')(column, fields)) -}}
{%- endmacro %}

{% macro default__parse_json_object(column, fields) -%}
    {{ exceptions.raise_compiler_error("parse_json_object is not implemented for " ~ adapter.type()) }}
{%- endmacro %}

{% macro duckdb__parse_json_object(column, fields) -%}
    {#- Not try(from_json(...)): a vector with one malformed line would be re-evaluated row by row. -#}
    {%- set types = {
        'string': 'VARCHAR',
        'string_list': ['VARCHAR'],
        'product_list': [{'product_id': 'VARCHAR', 'sku': 'VARCHAR'}],
        'item_list': [{'product_id': 'VARCHAR', 'sku': 'VARCHAR', 'quantity': 'DOUBLE', 'price': money_type() | trim}],
        'money': money_type() | trim,
    } -%}
    {%- set schema = {} -%}
    {%- for field, kind in fields.items() -%}
        {%- do schema.update({field: types[kind]}) -%}
    {%- endfor -%}
    case
        when json_valid({{ column }}) and starts_with(ltrim({{ column }}), '{')
            then from_json({{ column }}, {{ dbt.string_literal(tojson(schema)) }})
    end
{%- endmacro %}

{% macro postgres__parse_json_object(column, fields) -%}
    {{ column }}
{%- endmacro %}

{#-
    Spark: one from_json per line with every field as a string (lists too: a list of the wrong type would
    mark the whole record corrupt; json_field parses them again), strict about single quotes and NaN; a line
    that is not a JSON object (corrupt record, or no record for a blank line) is NULL.
-#}
{% macro spark__parse_json_object(column, fields) -%}
    {%- set schema = [] -%}
    {%- for field in fields -%}
        {%- do schema.append('`' ~ field ~ '` string') -%}
    {%- endfor -%}
    {%- do schema.append('_corrupt_record string') -%}
    {%- set parsed -%}
        from_json({{ column }}, '{{ schema | join(", ") }}', map('allowSingleQuotes', 'false', 'allowNonNumericNumbers', 'false', 'columnNameOfCorruptRecord', '_corrupt_record'))
    {%- endset -%}
    case when {{ parsed }}._corrupt_record is null then {{ parsed }} end
{%- endmacro %}


{#- One field of a record made by parse_json_object, typed by its kind in `fields` (see above). -#}
{% macro json_field(record, fields, field) -%}
    {{- return(adapter.dispatch('json_field', 'customer_agent_warehouse')(record, field, fields[field])) -}}
{%- endmacro %}

{% macro duckdb__json_field(record, field, kind) -%}
    {{ record }}.{{ field }}
{%- endmacro %}

{% macro spark__json_field(record, field, kind) -%}
    {%- set types = {
        'string_list': 'array<string>',
        'product_list': 'array<struct<product_id: string, sku: string>>',
        'item_list': 'array<struct<product_id: string, sku: string, quantity: double, price: ' ~ (money_type() | trim) ~ '>>',
    } -%}
    {%- if kind == 'string' -%}
        {{ record }}.`{{ field }}`
    {%- elif kind in types -%}
        from_json({{ record }}.`{{ field }}`, '{{ types[kind] }}')
    {%- elif kind == 'money' -%}
        cast({{ record }}.`{{ field }}` as {{ money_type() | trim }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("json_field: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}

{% macro postgres__json_field(record, field, kind) -%}
    {%- if kind == 'string' -%}
        ({{ record }} ->> '{{ field }}')
    {%- elif kind == 'string_list' -%}
        ca_jsonb_text_array({{ record }} -> '{{ field }}')
    {%- elif kind in ('product_list', 'item_list') -%}
        (case when jsonb_typeof({{ record }} -> '{{ field }}') = 'array' then {{ record }} -> '{{ field }}' end)
    {%- elif kind == 'money' -%}
        ca_money_or_null({{ record }} ->> '{{ field }}')
    {%- else -%}
        {{ exceptions.raise_compiler_error("json_field: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}


{#-
    The JSON type of `field` in the raw line, named as DuckDB does (VARCHAR, BIGINT,
    UBIGINT, DOUBLE, BOOLEAN, OBJECT, ARRAY, NULL), null when absent. It parses the
    line again: call it only for the few lines that look suspicious.
-#}
{% macro json_field_type(column, field) -%}
    {{- return(adapter.dispatch('json_field_type', 'customer_agent_warehouse')(column, field)) -}}
{%- endmacro %}

{% macro duckdb__json_field_type(column, field) -%}
    json_type({{ column }}, {{ dbt.string_literal('$."' ~ field ~ '"') }})
{%- endmacro %}

{#- Spark: the JSON type from the first character of the field's value in the raw line (suspicious lines only). -#}
{% macro spark__json_field_type(column, field) -%}
    case left(regexp_extract({{ column }}, r'"{{ field }}"\s*:\s*(\S)', 1), 1)
        when '"' then 'VARCHAR'
        when '{' then 'OBJECT'
        when '[' then 'ARRAY'
        when 't' then 'BOOLEAN'
        when 'f' then 'BOOLEAN'
        when 'n' then 'NULL'
        when '' then null
        else 'DOUBLE'
    end
{%- endmacro %}

{% macro postgres__json_field_type(column, field) -%}
    upper(replace(replace(jsonb_typeof({{ column }} -> '{{ field }}'), 'string', 'varchar'), 'number', 'double'))
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
        when {{ value }} is null and {{ json_has_key(column, field) }}
            then {{ json_field_type(column, field) }} is distinct from 'NULL'
        else false
    end
    {%- else -%}
        {{ exceptions.raise_compiler_error("has_wrong_json_type: unknown kind " ~ kind) }}
    {%- endif -%}
{%- endmacro %}


{#- True when the JSON document may have the key `field` (a cheap test before json_field_type). -#}
{% macro json_has_key(column, field) -%}
    {{- return(adapter.dispatch('json_has_key', 'customer_agent_warehouse')(column, field)) -}}
{%- endmacro %}

{% macro default__json_has_key(column, field) -%}
    {{ dbt.position(dbt.string_literal('"' ~ field ~ '"'), column) }} > 0
{%- endmacro %}

{% macro postgres__json_has_key(column, field) -%}
    {{ column }} ? '{{ field }}'
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

{% macro spark__has_non_object_element(column, field, value) -%}
    case
        when size({{ value }}) > 0
            then exists(
                from_json(get_json_object({{ column }}, '$.{{ field }}'), 'array<string>'),
                element -> element is null or left(ltrim(element), 1) <> '{'
            )
        else false
    end
{%- endmacro %}

{% macro postgres__has_non_object_element(column, field, value) -%}
    coalesce(jsonb_path_exists({{ value }}, '$[*] ? (@.type() != "object")'), false)
{%- endmacro %}


{#-
    Name of the first field of `checks` (a list of (field, value, kind)) with a wrong JSON type, else null.
    The `string` checks come first in `checks`; they run only on the lines where some value may be a
    boolean, an object or an array (json_may_hold_non_string), the few suspicious lines on DuckDB.
-#}
{% macro first_wrong_json_type(column, checks) -%}
    {%- set string_checks = checks | selectattr(2, 'equalto', 'string') | list -%}
    {%- set other_checks = checks | rejectattr(2, 'equalto', 'string') | list -%}
    {%- if checks[:string_checks | length] != string_checks -%}
        {{ exceptions.raise_compiler_error("first_wrong_json_type: list the string checks first") }}
    {%- endif -%}
    coalesce(
        {%- if string_checks %}
        case when {{ json_may_hold_non_string(column) }} then case
            {%- for field, value, kind in string_checks %}
            when ({{ has_wrong_json_type(column, field, value, kind) }}) then '{{ field }}'
            {%- endfor %}
        end end{{ ',' if other_checks }}
        {%- endif %}
        {%- if other_checks %}
        case
            {%- for field, value, kind in other_checks %}
            when ({{ has_wrong_json_type(column, field, value, kind) }}) then '{{ field }}'
            {%- endfor %}
        end
        {%- endif %}
    )
{%- endmacro %}


{#-
    False only when no value of the JSON document can be a boolean, an object or an array: no `:`
    followed (after JSON white space) by `t`, `f`, `{` or `[`. A cheap filter before the per-field
    type checks; true where an engine has no cheap test.
-#}
{% macro json_may_hold_non_string(column) -%}
    {{- return(adapter.dispatch('json_may_hold_non_string', 'customer_agent_warehouse')(column)) -}}
{%- endmacro %}

{% macro default__json_may_hold_non_string(column) -%}
    true
{%- endmacro %}

{% macro duckdb__json_may_hold_non_string(column) -%}
    regexp_matches({{ column }}, ':\s*[\[{tf]')
{%- endmacro %}
