-- The fact rows the sidebar filters select, with the dimension columns the
-- pages group by. Each query in this folder reads it as the CTE `filtered`.
-- Parameters are named (:name) and bound, never formatted into the text.
select
    f.order_id,
    f.order_date,
    f.order_year,
    f.order_month,
    f.days_to_ship,
    f.ship_mode,
    f.customer_id,
    f.segment,
    f.sales,
    g.region,
    g.state,
    p.product_id,
    p.product_name,
    p.category,
    p.sub_category
from fct_sales as f
inner join dim_geography as g on f.geography_key = g.geography_key
inner join dim_product as p on f.product_id = p.product_id
where
    f.order_date between cast(:start_date as date) and cast(:end_date as date)
    and (:all_regions = 1 or g.region in (:regions))
    and (:all_segments = 1 or f.segment in (:segments))
    and (:all_categories = 1 or p.category in (:categories))
