select
    days_to_ship,
    ship_mode,
    count(*) as order_lines
from filtered
group by days_to_ship, ship_mode
order by days_to_ship, ship_mode
