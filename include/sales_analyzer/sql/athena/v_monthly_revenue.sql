-- Revenue, orders and customers per calendar month, with the month's first day
-- for time axes and the average order value.
create or replace view {{ params.gold_database }}.v_monthly_revenue as
with

months as (
    select distinct
        calendar_year,
        calendar_month,
        month_start
    from {{ params.gold_database }}.dim_date
)

select
    m.order_year,
    m.order_month,
    months.month_start,
    m.orders,
    m."rows" as order_lines,
    m.revenue,
    m.unique_customers,
    cast(
        round(m.revenue / nullif(m.orders, 0), 2) as decimal(18, 2)
    ) as average_order_value
from {{ params.gold_database }}.monthly as m
inner join months
    on
        m.order_year = months.calendar_year
        and m.order_month = months.calendar_month
