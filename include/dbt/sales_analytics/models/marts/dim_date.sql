with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

days as (

    select order_date as date_day from order_lines
    union distinct
    select ship_date as date_day from order_lines

),

final as (

    select
        date_day,
        cast(extract(year from date_day) as integer) as calendar_year,
        cast(extract(quarter from date_day) as integer) as calendar_quarter,
        cast(extract(month from date_day) as integer) as calendar_month,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(dow from date_day) as integer) as day_of_week,
        {{ dbt.date_trunc('month', 'date_day') }} as month_start
    from days

)

select * from final
