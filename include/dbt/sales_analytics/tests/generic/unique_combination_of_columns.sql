-- The columns together identify a row (dbt_utils' unique_combination_of_columns
-- written here: dbt packages cannot be fetched at run time on MWAA).
{% test unique_combination_of_columns(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}
