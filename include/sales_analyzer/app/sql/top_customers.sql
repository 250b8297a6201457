-- Name and segment come from dim_customer (as on the customer's latest
-- order); revenue only from the filtered order lines.
select
    revenue_rank,
    customer_id,
    customer_name,
    segment,
    revenue,
    orders,
    order_lines
from (
    select
        f.customer_id,
        c.customer_name,
        c.segment,
        sum(f.sales) as revenue,
        count(distinct f.order_id) as orders,
        count(*) as order_lines,
        row_number() over (
            order by sum(f.sales) desc, f.customer_id
        ) as revenue_rank
    from filtered as f
    inner join dim_customer as c on f.customer_id = c.customer_id
    where
        :search = ''
        or strpos(lower(c.customer_name), lower(:search)) > 0
    group by f.customer_id, c.customer_name, c.segment
) as ranked
where revenue_rank <= :top_n
order by revenue_rank
