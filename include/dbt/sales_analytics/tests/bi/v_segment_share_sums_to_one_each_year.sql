-- A year's segment shares add up to 1 (a year with no revenue has no share).
select
    order_year,
    sum(revenue_share) as total_share
from {{ ref('v_segment_share') }}
group by order_year
having abs(sum(revenue_share) - 1) > 1e-9
