select
    ship_mode,
    count(*) as order_lines,
    count(distinct order_id) as orders,
    sum(sales) as revenue,
    avg(days_to_ship) as avg_days_to_ship
from filtered
group by ship_mode
order by order_lines desc, ship_mode asc
