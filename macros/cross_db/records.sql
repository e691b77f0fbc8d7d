{#-
    Records inside lists (the products of a recommendation, the items of an order): DuckDB structs,
    PostgreSQL jsonb objects (so a list of records is a `jsonb[]`); field values are strings.
-#}

{#- A list of records as a base model gives it (on PostgreSQL a jsonb array, NULL unless an array), as a list. -#}
{% macro record_list(expression) -%}
    {{- return(adapter.dispatch('record_list', 'customer_agent_warehouse')(expression)) -}}
{%- endmacro %}

{% macro default__record_list(expression) -%}{{ expression }}{%- endmacro %}

{% macro postgres__record_list(expression) -%}
    case
        when jsonb_typeof({{ expression }}) = 'array' then array(
            select json_elements.element
            from jsonb_array_elements({{ expression }}) with ordinality as json_elements (element, position)
            order by json_elements.position
        )
    end
{%- endmacro %}


{#- The value of a field of a record, as a string (NULL when missing). -#}
{% macro record_field(record, field) -%}
    {{- return(adapter.dispatch('record_field', 'customer_agent_warehouse')(record, field)) -}}
{%- endmacro %}

{% macro default__record_field(record, field) -%}{{ record }}.{{ field }}{%- endmacro %}

{% macro postgres__record_field(record, field) -%}({{ record }} ->> '{{ field }}'){%- endmacro %}


{#- A record from a dict of field name -> SQL expression, fields in the dict's order. -#}
{% macro make_record(fields) -%}
    {{- return(adapter.dispatch('make_record', 'customer_agent_warehouse')(fields)) -}}
{%- endmacro %}

{% macro default__make_record(fields) -%}
    { {%- for name, expression in fields.items() %}'{{ name }}': {{ expression }}{% if not loop.last %}, {% endif %}{% endfor -%} }
{%- endmacro %}

{% macro spark__make_record(fields) -%}
    named_struct(
        {%- for name, expression in fields.items() %}'{{ name }}', {{ expression }}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}

{% macro postgres__make_record(fields) -%}
    jsonb_build_object(
        {%- for name, expression in fields.items() %}'{{ name }}', {{ expression }}{% if not loop.last %}, {% endif %}{% endfor -%}
    )
{%- endmacro %}
