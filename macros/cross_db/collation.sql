{#-
    A string compared byte by byte, as DuckDB and Spark compare strings, whatever the collation of the
    database (a PostgreSQL database often sorts linguistically: 'p9' before 'S1'). Used in every order
    that decides a result: ties broken on ids, sorted lists.
-#}
{% macro bytewise(expression) -%}
    {{- return(adapter.dispatch('bytewise', 'customer_agent_warehouse')(expression)) -}}
{%- endmacro %}

{% macro default__bytewise(expression) -%}{{ expression }}{%- endmacro %}

{% macro postgres__bytewise(expression) -%}({{ expression }}) collate "C"{%- endmacro %}
