{#-
    Money is exact (spec §7 and §12, issues 11 and 28): an order value is a
    decimal with money_scale() places, sums of values are decimals too, so two
    builds, incremental and full builds and every engine give the same sales to
    the last digit.

    The one rule for a money ratio (docs/contract.md, "Money"): numerator /
    denominator computed exactly, rounded half away from zero to money_scale()
    places. Python's customer_agent_warehouse.money.money_ratio is the same rule.
-#}
{% macro money_scale() -%}
    4
{%- endmacro %}

{% macro money_type() -%}
    decimal(18, {{ money_scale() }})
{%- endmacro %}

{% macro money_total_type() -%}
    decimal(38, {{ money_scale() }})
{%- endmacro %}

{#- numerator / denominator as a money_type(), rounded half away from zero; null when the denominator is 0. -#}
{% macro money_ratio(numerator, denominator) -%}
    {{- return(adapter.dispatch('money_ratio', 'customer_agent_warehouse')(numerator, denominator)) -}}
{%- endmacro %}

{#-
    PostgreSQL: numeric division is correctly rounded at the dividend's scale
    when that is larger than its default, so 20 places keep the quotient far
    from a rounding boundary it does not sit on; round() is half away from zero.
-#}
{% macro default__money_ratio(numerator, denominator) -%}
    cast(
        round(cast({{ numerator }} as numeric(60, 20)) / nullif({{ denominator }}, 0), {{ money_scale() }})
        as {{ money_type() }}
    )
{%- endmacro %}

{#-
    Spark: decimal(28, 4) / decimal(10, 0) is a decimal(38, 14) (a wider
    dividend would leave only 6 places, too few to round once); round() on a
    decimal is HALF_UP, i.e. half away from zero.
-#}
{% macro spark__money_ratio(numerator, denominator) -%}
    cast(
        round(
            cast({{ numerator }} as decimal(28, {{ money_scale() }}))
            / cast(nullif({{ denominator }}, 0) as decimal(10, 0)),
            {{ money_scale() }}
        )
        as {{ money_type() }}
    )
{%- endmacro %}

{#-
    DuckDB divides decimals as doubles (212.905 becomes 212.90499...): divide
    whole units of the last place as integers instead, adding half the divisor
    to the dividend's magnitude so that a half rounds away from zero.
-#}
{% macro duckdb__money_ratio(numerator, denominator) -%}
    {%- set scale = money_scale() | int -%}
    {%- set units = 10 ** scale -%}
    cast(
        cast(
            sign({{ numerator }}) * sign({{ denominator }})
            * (
                (2 * abs(cast(cast({{ numerator }} as {{ money_total_type() }}) * {{ units }} as hugeint))
                    + abs({{ denominator }}))
                // (2 * abs(nullif({{ denominator }}, 0)))
            )
            as decimal(38, 0)
        ) * 0.{{ '0' * (scale - 1) }}1
        as {{ money_type() }}
    )
{%- endmacro %}
