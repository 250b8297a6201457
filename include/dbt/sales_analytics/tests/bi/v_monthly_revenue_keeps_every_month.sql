-- Every month of the monthly mart is in the view (its dim_date join is inner).
select
    monthly.order_year,
    monthly.order_month
from {{ ref('monthly') }} as monthly
left join {{ ref('v_monthly_revenue') }} as bi
    on
        monthly.order_year = bi.order_year
        and monthly.order_month = bi.order_month
where bi.order_year is null
