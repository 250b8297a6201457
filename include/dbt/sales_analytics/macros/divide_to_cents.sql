-- amount / count rounded half up to the cent, exactly and the same on DuckDB and
-- Athena. dbt has no cross-database macro for it, and the plain
-- round(amount / count, 2) differs by engine: DuckDB divides decimals in double
-- (0.145 / 1 rounds to 0.14) and Trino rounds the quotient to the amount's scale
-- before round() rounds it again. Here both divide two whole numbers of 1/10^scale
-- units in double: exact while amount * 10^scale + count * 50 < 2^53 (about
-- 450 billion a group at scale 4), since a correctly rounded quotient of two
-- such integers never crosses the next integer. Non-negative amounts only (the
-- contract quarantines negative sales); a zero count gives null.
{% macro divide_to_cents(amount, count, scale=4) -%}
    {%- set units = 10 ** scale -%}
    {%- set per_cent = 10 ** (scale - 2) -%}
    cast(
        cast(
            floor(
                cast(
                    cast({{ amount }} * {{ units }} as bigint)
                    + {{ per_cent // 2 }} * {{ count }} as double
                )
                / cast({{ per_cent }} * nullif({{ count }}, 0) as double)
            ) as decimal(18, 0)
        ) * 0.01 as decimal(18, 2)
    )
{%- endmacro %}
