{#-
    Aggregate: the value of `expression` on the first row by `order_by` among the rows where `condition`
    holds (NULL when none does).
-#}
{% macro first_agg(expression, order_by, condition) -%}
    {{- return(adapter.dispatch('first_agg', 'customer_agent_warehouse')(expression, order_by, condition)) -}}
{%- endmacro %}

{% macro default__first_agg(expression, order_by, condition) -%}
    (array_agg({{ expression }} order by {{ order_by }}) filter (where {{ condition }}))[1]
{%- endmacro %}

{% macro duckdb__first_agg(expression, order_by, condition) -%}
    first({{ expression }} order by {{ order_by }}) filter (where {{ condition }})
{%- endmacro %}
