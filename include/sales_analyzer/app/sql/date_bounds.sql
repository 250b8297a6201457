select
    min(order_date) as first_date,
    max(order_date) as last_date
from fct_sales
