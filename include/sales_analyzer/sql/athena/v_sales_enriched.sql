-- One row per order line with its customer, product and place: the relation BI
-- tools (QuickSight) read. Athena (Trino) SQL; the tests run its DuckDB twin.
create or replace view {{ params.gold_database }}.v_sales_enriched as
select
    f.row_id,
    f.order_id,
    f.order_date,
    f.ship_date,
    f.days_to_ship,
    f.ship_mode,
    f.order_year,
    f.order_month,
    f.segment,
    f.sales,
    f.customer_id,
    c.customer_name,
    f.product_id,
    p.product_name,
    p.category,
    p.sub_category,
    g.country,
    g.region,
    g.state,
    g.city,
    g.postal_code
from {{ params.gold_database }}.fct_sales as f
left join {{ params.gold_database }}.dim_customer as c
    on f.customer_id = c.customer_id
left join {{ params.gold_database }}.dim_product as p
    on f.product_id = p.product_id
left join {{ params.gold_database }}.dim_geography as g
    on f.geography_key = g.geography_key
