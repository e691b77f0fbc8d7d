{#-
    Engine type names used in casts (spec §7: strings, lists of strings, doubles). The contracts in the
    models' YAML cannot call macros (dbt renders `data_type` with `var` and `target` only), so they read
    the same names from the var `contract_types` in dbt_project.yml; keep both in step.
-#}

{#- A string. -#}
{% macro string_type() -%}
    {{- return(adapter.dispatch('string_type', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__string_type() -%}varchar{%- endmacro %}

{% macro postgres__string_type() -%}text{%- endmacro %}

{% macro spark__string_type() -%}string{%- endmacro %}


{#- A list of strings (tags, products, channels). -#}
{% macro string_list_type() -%}
    {{- return(adapter.dispatch('string_list_type', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__string_list_type() -%}varchar[]{%- endmacro %}

{% macro postgres__string_list_type() -%}text[]{%- endmacro %}

{% macro spark__string_list_type() -%}array<string>{%- endmacro %}


{#- A 64-bit floating-point number. -#}
{% macro double_type() -%}
    {{- return(adapter.dispatch('double_type', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__double_type() -%}double precision{%- endmacro %}

{% macro duckdb__double_type() -%}double{%- endmacro %}

{% macro spark__double_type() -%}double{%- endmacro %}


{#- An empty list of strings, e.g. the value of `tags` when none was applied. -#}
{% macro empty_string_list() -%}
    {{- return(adapter.dispatch('empty_string_list', 'customer_agent_warehouse')()) -}}
{%- endmacro %}

{% macro default__empty_string_list() -%}cast(array[] as {{ string_list_type() }}){%- endmacro %}

{% macro duckdb__empty_string_list() -%}[]{%- endmacro %}

{% macro spark__empty_string_list() -%}cast(array() as array<string>){%- endmacro %}
