-- Each customer segment's revenue, share of the year's revenue and rank.
create or replace view {{ params.gold_database }}.v_segment_share as
select
    order_year,
    segment,
    revenue,
    cast(revenue as double)
    / sum(cast(revenue as double)) over (partition by order_year)
        as revenue_share,
    rank() over (partition by order_year order by revenue desc) as segment_rank
from {{ params.gold_database }}.segment_yearly
