with

fct_sales as (

    select * from {{ ref('fct_sales') }}

),

final as (

    select
        order_year,
        order_month,
        -- `rows` is the mart's published column name
        count(*) as rows,  -- noqa: RF04
        count(distinct order_id) as orders,
        sum(sales) as revenue,
        count(distinct customer_id) as unique_customers
    from fct_sales
    group by order_year, order_month

)

select * from final
