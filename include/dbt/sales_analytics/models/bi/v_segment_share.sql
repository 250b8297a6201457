with

segment_yearly as (

    select * from {{ ref('segment_yearly') }}

),

final as (

    select
        order_year,
        segment,
        revenue,
        cast(revenue as double)
        / sum(cast(revenue as double)) over (partition by order_year)
            as revenue_share,
        rank() over (
            partition by order_year order by revenue desc
        ) as segment_rank
    from segment_yearly

)

select * from final
