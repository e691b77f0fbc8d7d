{#-
    Money is exact (spec §7, issue 11): an order value is a decimal with 4
    places, and sums of values are decimals too, so two builds, incremental and
    full builds and every engine give the same sales to the last digit.
-#}
{% macro money_type() -%}
    decimal(18, 4)
{%- endmacro %}

{% macro money_total_type() -%}
    decimal(38, 4)
{%- endmacro %}
