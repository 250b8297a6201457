-- The local twin of the Glue crawler: register silver in the warehouse as
-- silver.sales, a view over the live silver Parquet tree (a symlink that each
-- run swaps atomically), so dbt reads the same relation name on both backends.
-- The glob comes from publish_silver at run time: the DAG file reads no config at parse.
create schema if not exists silver;

create or replace view silver.sales as
select *
from read_parquet(
    '{{ ti.xcom_pull(task_ids="publish_silver")["silver_glob"] }}',
    hive_partitioning = true,
    hive_types = {'order_year': integer, 'order_month': integer}
);
