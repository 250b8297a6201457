select
    coalesce(sum(sales), 0) as revenue,
    count(distinct order_id) as orders,
    count(distinct customer_id) as customers,
    count(*) as order_lines
from filtered
