select
    order_year,
    order_month,
    sum(sales) as revenue,
    count(distinct order_id) as orders,
    count(distinct customer_id) as customers
from filtered
group by order_year, order_month
order by order_year, order_month
