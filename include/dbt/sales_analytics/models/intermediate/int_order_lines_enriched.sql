with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

enriched as (

    select
        order_lines.*,
        {{ dbt.datediff('order_date', 'ship_date', 'day') }} as days_to_ship,
        {{ dbt.hash(dbt.concat([
            "country", "'|'", "state", "'|'", "city", "'|'",
            "coalesce(postal_code, '')", "'|'", "region"
        ])) }} as geography_key
    from order_lines

)

select * from enriched
