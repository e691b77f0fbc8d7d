{#-
    The daily time spine MetricFlow needs (dbt 1.9+ `time_spine:` config in
    _performance__semantic_models.yml): one row per calendar day from
    2020-01-01 to 2040-12-31 (dbt's cross-database date_spine; its end is
    exclusive). Days are reporting days, like the dates of the daily marts.
-#}

with

days as (

    {{ dbt.date_spine('day', "cast('2020-01-01' as date)", "cast('2041-01-01' as date)") }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
