with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

per_product as (

    select
        product_name,
        sum(sales) as revenue,
        count(distinct order_id) as orders
    from order_lines
    group by product_name

),

ranked as (

    select
        product_name,
        revenue,
        orders,
        row_number() over (
            order by revenue desc, product_name asc
        ) as revenue_rank
    from per_product

),

final as (

    select
        product_name,
        revenue,
        orders,
        revenue_rank
    from ranked
    where revenue_rank <= {{ var('top_products_limit') }}

)

select * from final
