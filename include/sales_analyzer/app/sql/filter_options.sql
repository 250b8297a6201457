-- Values the sidebar offers; no parameters.
select
    'region' as dimension,
    region as member
from dim_geography
group by region
union all
select
    'segment' as dimension,
    segment as member
from fct_sales
group by segment
union all
select
    'category' as dimension,
    category as member
from dim_product
group by category
order by dimension, member
