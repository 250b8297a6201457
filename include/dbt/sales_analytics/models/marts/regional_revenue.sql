with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

final as (

    select
        region,
        sum(sales) as revenue
    from order_lines
    group by region

)

select * from final
