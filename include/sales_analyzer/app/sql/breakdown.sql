-- One row per member of each dimension the Breakdowns page shows; `parent`
-- is the region of a state and the category of a sub-category.
select
    'region' as dimension,
    region as member,
    cast(null as varchar) as parent,
    sum(sales) as revenue,
    count(distinct order_id) as orders,
    count(distinct customer_id) as customers
from filtered
group by region
union all
select
    'state' as dimension,
    state as member,
    min(region) as parent,
    sum(sales) as revenue,
    count(distinct order_id) as orders,
    count(distinct customer_id) as customers
from filtered
group by state
union all
select
    'segment' as dimension,
    segment as member,
    cast(null as varchar) as parent,
    sum(sales) as revenue,
    count(distinct order_id) as orders,
    count(distinct customer_id) as customers
from filtered
group by segment
union all
select
    'category' as dimension,
    category as member,
    cast(null as varchar) as parent,
    sum(sales) as revenue,
    count(distinct order_id) as orders,
    count(distinct customer_id) as customers
from filtered
group by category
union all
select
    'sub_category' as dimension,
    sub_category as member,
    min(category) as parent,
    sum(sales) as revenue,
    count(distinct order_id) as orders,
    count(distinct customer_id) as customers
from filtered
group by sub_category
