-- The joins neither lose nor repeat an order line: same lines, same total.
with

view_lines as (

    select
        count(*) as order_lines,
        sum(sales) as revenue
    from {{ ref('v_sales_enriched') }}

),

fact_lines as (

    select
        count(*) as order_lines,
        sum(sales) as revenue
    from {{ ref('fct_sales') }}

)

select
    view_lines.order_lines as view_order_lines,
    fact_lines.order_lines as fact_order_lines,
    view_lines.revenue as view_revenue,
    fact_lines.revenue as fact_revenue
from view_lines
cross join fact_lines
where
    view_lines.order_lines != fact_lines.order_lines
    or view_lines.revenue != fact_lines.revenue
