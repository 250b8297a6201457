#!/usr/bin/env bash
# Entry point of the compose mirror: source mwaa/startup.sh as MWAA does on every
# container start (it exports SALES_DBT_EXECUTABLE and the telemetry switches, and
# rebuilds the dbt virtualenv only if requirements changed), then run Airflow's own
# entry point with the service's command.
startup=/usr/local/airflow/startup/startup.sh
if [ -f "$startup" ]; then
    # shellcheck source=/dev/null
    source "$startup" || echo "mwaa-entrypoint: $startup failed with status $?" >&2
fi
exec /entrypoint "$@"
