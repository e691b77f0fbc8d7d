{#- A string as a double, NULL when it is not a number (never an error). -#}
{% macro try_cast_double(expression) -%}
    {{- return(adapter.dispatch('try_cast_double', 'customer_agent_warehouse')(expression)) -}}
{%- endmacro %}

{% macro default__try_cast_double(expression) -%}
    {{ target.schema }}.ca_try_cast_double({{ expression }})
{%- endmacro %}

{% macro duckdb__try_cast_double(expression) -%}
    try_cast({{ expression }} as double)
{%- endmacro %}

{% macro spark__try_cast_double(expression) -%}
    try_cast({{ expression }} as double)
{%- endmacro %}

{#- A value as money (money_type()), NULL when it is not a number in range (never an error). -#}
{% macro try_cast_money(expression) -%}
    {{- return(adapter.dispatch('try_cast_money', 'customer_agent_warehouse')(expression)) -}}
{%- endmacro %}

{% macro default__try_cast_money(expression) -%}
    {{ target.schema }}.ca_money_or_null({{ expression }})
{%- endmacro %}

{% macro duckdb__try_cast_money(expression) -%}
    try_cast({{ expression }} as {{ money_type() }})
{%- endmacro %}

{% macro spark__try_cast_money(expression) -%}
    try_cast({{ expression }} as {{ money_type() }})
{%- endmacro %}
