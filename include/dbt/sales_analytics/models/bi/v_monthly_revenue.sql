with

monthly as (

    select * from {{ ref('monthly') }}

),

dim_date as (

    select * from {{ ref('dim_date') }}

),

months as (

    -- a date on both engines (date_trunc gives DuckDB a timestamp)
    select distinct
        calendar_year,
        calendar_month,
        cast(month_start as date) as month_start
    from dim_date

),

final as (

    select
        monthly.order_year,
        monthly.order_month,
        months.month_start,
        monthly.orders,
        -- quoted, as the Athena view had it: sqlfluff's athena dialect reads
        -- a bare rows as a keyword
        monthly."rows" as order_lines,  -- noqa: RF06
        monthly.revenue,
        monthly.unique_customers,
        {{ divide_to_cents('monthly.revenue', 'monthly.orders') }}
            as average_order_value
    from monthly
    inner join months
        on
            monthly.order_year = months.calendar_year
            and monthly.order_month = months.calendar_month

)

select * from final
