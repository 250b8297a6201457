select
    run_key,
    refreshed_at
from _pipeline_refresh
