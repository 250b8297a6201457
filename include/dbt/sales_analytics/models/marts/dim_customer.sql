with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

-- A customer's name and segment as on their latest order line.
ranked as (

    select
        customer_id,
        customer_name,
        segment,
        row_number() over (
            partition by customer_id
            order by order_date desc, row_id desc
        ) as recency_rank
    from order_lines

),

order_counts as (

    select
        customer_id,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date,
        count(distinct order_id) as orders
    from order_lines
    group by customer_id

),

final as (

    select
        ranked.customer_id,
        ranked.customer_name,
        ranked.segment,
        order_counts.first_order_date,
        order_counts.last_order_date,
        order_counts.orders
    from ranked
    inner join order_counts
        on ranked.customer_id = order_counts.customer_id
    where ranked.recency_rank = 1

)

select * from final
