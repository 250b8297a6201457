with

fct_sales as (

    select * from {{ ref('fct_sales') }}

),

dim_customer as (

    select * from {{ ref('dim_customer') }}

),

dim_product as (

    select * from {{ ref('dim_product') }}

),

dim_geography as (

    select * from {{ ref('dim_geography') }}

),

final as (

    select
        fct_sales.row_id,
        fct_sales.order_id,
        fct_sales.order_date,
        fct_sales.ship_date,
        fct_sales.days_to_ship,
        fct_sales.ship_mode,
        fct_sales.order_year,
        fct_sales.order_month,
        fct_sales.segment,
        fct_sales.sales,
        fct_sales.customer_id,
        dim_customer.customer_name,
        fct_sales.product_id,
        dim_product.product_name,
        dim_product.category,
        dim_product.sub_category,
        dim_geography.country,
        dim_geography.region,
        dim_geography.state,
        dim_geography.city,
        dim_geography.postal_code
    from fct_sales
    left join dim_customer
        on fct_sales.customer_id = dim_customer.customer_id
    left join dim_product
        on fct_sales.product_id = dim_product.product_id
    left join dim_geography
        on fct_sales.geography_key = dim_geography.geography_key

)

select * from final
