with

order_lines as (

    select * from {{ ref('stg_silver__sales') }}

),

enriched as (

    select
        order_lines.*,
        {{ dbt.datediff('order_date', 'ship_date', 'day') }} as days_to_ship,
        -- a missing descriptive field is only a warning in the contract:
        -- the key stays defined
        {{ dbt.hash(dbt.concat([
            "coalesce(country, '')", "'|'", "coalesce(state, '')", "'|'",
            "coalesce(city, '')", "'|'", "coalesce(postal_code, '')", "'|'",
            "coalesce(region, '')"
        ])) }} as geography_key
    from order_lines

)

select * from enriched
