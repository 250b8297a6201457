-- :search is matched as plain text (strpos), so % and _ are not wildcards.
select
    revenue_rank,
    product_id,
    product_name,
    category,
    sub_category,
    revenue,
    orders,
    order_lines
from (
    select
        product_id,
        product_name,
        category,
        sub_category,
        sum(sales) as revenue,
        count(distinct order_id) as orders,
        count(*) as order_lines,
        row_number() over (
            order by sum(sales) desc, product_id
        ) as revenue_rank
    from filtered
    where
        :search = ''
        or strpos(lower(product_name), lower(:search)) > 0
    group by product_id, product_name, category, sub_category
) as ranked
where revenue_rank <= :top_n
order by revenue_rank
