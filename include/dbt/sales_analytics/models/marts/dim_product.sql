with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

-- Some product ids carry more than one name in the source: keep the latest.
ranked as (

    select
        product_id,
        product_name,
        category,
        sub_category,
        row_number() over (
            partition by product_id
            order by order_date desc, row_id desc
        ) as recency_rank
    from order_lines

),

final as (

    select
        product_id,
        product_name,
        category,
        sub_category
    from ranked
    where recency_rank = 1

)

select * from final
