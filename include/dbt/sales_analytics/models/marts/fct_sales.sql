with

order_lines as (

    select * from {{ ref('int_order_lines_enriched') }}

),

final as (

    select
        row_id,
        order_id,
        order_date,
        ship_date,
        days_to_ship,
        ship_mode,
        customer_id,
        -- the segment recorded on the order line (a customer's may change)
        segment,
        product_id,
        geography_key,
        sales,
        order_year,
        order_month
    from order_lines

)

select * from final
