with

order_lines as (

    select * from {{ ref('int_order_lines_enriched') }}

),

final as (

    select distinct
        geography_key,
        country,
        region,
        state,
        city,
        postal_code
    from order_lines

)

select * from final
