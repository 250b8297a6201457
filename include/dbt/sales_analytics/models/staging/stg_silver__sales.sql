with

source as (

    select * from {{ source('silver', 'sales') }}

),

renamed as (

    select
        cast(row_id as bigint) as row_id,
        order_id,
        cast(order_date as date) as order_date,
        cast(ship_date as date) as ship_date,
        ship_mode,
        customer_id,
        customer_name,
        segment,
        country,
        city,
        state,
        postal_code,
        region,
        product_id,
        category,
        sub_category,
        product_name,
        cast(sales as decimal(18, 4)) as sales,
        cast(order_year as integer) as order_year,
        cast(order_month as integer) as order_month,
        cast(source_line as bigint) as source_line
    from source

)

select * from renamed
