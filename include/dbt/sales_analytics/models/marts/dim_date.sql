with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

days as (

    select order_date as date_day from order_lines
    union distinct
    select ship_date as date_day from order_lines

),

-- Days since a known Monday give the ISO day of week on every engine:
-- extract(dow) numbers Sunday 0 on DuckDB but 7 on Athena.
numbered as (

    select
        date_day,
        {{ dbt.datediff("cast('2000-01-03' as date)", "date_day", "day") }}
            as days_since_monday
    from days

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as calendar_year,
        cast(extract(quarter from date_day) as integer) as calendar_quarter,
        cast(extract(month from date_day) as integer) as calendar_month,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast((days_since_monday % 7 + 7) % 7 + 1 as integer) as day_of_week,
        {{ dbt.date_trunc('month', 'date_day') }} as month_start
    from numbered

)

select * from final
