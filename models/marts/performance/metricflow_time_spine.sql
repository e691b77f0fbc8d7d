{#-
    The daily time spine MetricFlow needs (dbt 1.9+ `time_spine:` config in
    _performance__semantic_models.yml): one row per calendar day from
    2020-01-01 to 2040-12-31. Days are reporting days, like the dates of the
    daily marts.
-#}

with

days as (

    select cast(range as date) as date_day
    from range(date '2020-01-01', date '2041-01-01', interval 1 day)

),

final as (

    select date_day
    from days

)

select * from final
