with

fct_sales as (

    select * from {{ ref('fct_sales') }}

),

final as (

    select
        order_year,
        count(*) as rows,
        sum(sales) as revenue,
        count(distinct customer_id) as unique_customers
    from fct_sales
    group by order_year

)

select * from final
