with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

-- Segment as recorded on each order line, not the customer's latest segment.
final as (

    select
        order_year,
        segment,
        sum(sales) as revenue
    from order_lines
    group by order_year, segment

)

select * from final
