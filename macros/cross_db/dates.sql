{#-
    dbt's cross-database `datediff` / `dateadd` on Spark, overridden here (the root project's `spark__` versions
    win over dbt-spark's): dbt-spark's datediff reads sub-seconds from the timestamp's text (null when Spark
    prints fewer than 6 digits) and its dateadd keeps whole seconds only. Both work in microseconds instead,
    as DuckDB and PostgreSQL do. Sub-day parts only below; days and longer use Spark's calendar arithmetic.
-#}
{% macro _spark_micros_per(datepart) -%}
    {%- set micros = {'microsecond': 1, 'millisecond': 1000, 'second': 1000000, 'minute': 60000000,
                      'hour': 3600000000} -%}
    {{- return(micros.get(datepart | lower)) -}}
{%- endmacro %}

{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set micros = _spark_micros_per(datepart) -%}
    {%- if micros -%}
        (floor(unix_micros({{ second_date }}) / {{ micros }}) - floor(unix_micros({{ first_date }}) / {{ micros }}))
    {%- else -%}
        timestampdiff({{ datepart | upper }}, {{ first_date }}, {{ second_date }})
    {%- endif -%}
{%- endmacro %}

{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- set micros = _spark_micros_per(datepart) -%}
    {%- if micros -%}
        timestampadd(MICROSECOND, cast(({{ interval }}) * {{ micros }} as bigint), {{ from_date_or_timestamp }})
    {%- else -%}
        timestampadd({{ datepart | upper }}, {{ interval }}, {{ from_date_or_timestamp }})
    {%- endif -%}
{%- endmacro %}
