select
    order_year,
    revenue,
    orders,
    customers,
    lag(revenue) over (order by order_year) as previous_revenue
from (
    select
        order_year,
        sum(sales) as revenue,
        count(distinct order_id) as orders,
        count(distinct customer_id) as customers
    from filtered
    group by order_year
) as by_year
order by order_year
