#!/usr/bin/env bash
# MWAA startup script: builds the dbt virtualenv Cosmos calls and says where it is.
# It carries no pipeline configuration: MWAA's sales.* "Airflow configuration options"
# reach every component as AIRFLOW__SALES__<NAME>, which include/sales_analyzer/config.py
# reads itself (a missing required one fails the DAG's import). MWAA sources it with bash on every container start (scheduler, worker,
# web server), before it installs requirements.txt, and gives it 5 minutes; the
# docker-compose mirror sources it the same way. Being sourced, it never calls `exit`
# and keeps its variables local to a function.
#
# dbt lives in its own virtualenv because MWAA pins PyAthena 3.35.4 while dbt-athena
# needs < 3.35. The packages below must match requirements-dbt.txt (a test checks it).
#
# Settings (all optional):
#   SALES_DBT_VENV        where the virtualenv goes   (default $AIRFLOW_HOME/dbt_venv)
#   SALES_DBT_PYTHON      the interpreter to build it  (default python3)
#   SALES_DBT_WHEELHOUSE  install offline from this directory of wheels (private networks;
#                         default $AIRFLOW_HOME/plugins/wheels when `make deploy OFFLINE=1`
#                         shipped the wheels in plugins.zip)

SALES_DBT_PACKAGES="dbt-core~=1.11.0 dbt-duckdb~=1.11.0 dbt-athena~=1.11.0 duckdb==2.0.1"

_sales_log() {
    echo "[sales-startup] $*"
}

_sales_build_dbt_venv() {
    local venv="$1" python="$2" stamp="$3" wanted="$4"
    local -a pip_args=(--quiet --disable-pip-version-check --no-input)
    if [ -n "${SALES_DBT_WHEELHOUSE:-}" ]; then
        if [ ! -d "$SALES_DBT_WHEELHOUSE" ]; then
            _sales_log "SALES_DBT_WHEELHOUSE=$SALES_DBT_WHEELHOUSE is not a directory"
            return 1
        fi
        pip_args+=(--no-index --find-links "$SALES_DBT_WHEELHOUSE")
    fi
    # Another container may have built it while this one waited for the lock.
    if [ -x "$venv/bin/dbt" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    _sales_log "building the dbt virtualenv in $venv ($SALES_DBT_PACKAGES)"
    rm -rf "$venv"
    "$python" -m venv "$venv" || return 1
    # MWAA sets PIP_USER=true for its own installs; a virtualenv rejects --user.
    # shellcheck disable=SC2086  # the package list is meant to split into words
    PIP_USER=false "$venv/bin/python" -m pip install "${pip_args[@]}" $SALES_DBT_PACKAGES \
        || return 1
    "$venv/bin/dbt" --version >/dev/null || return 1
    # Written last: a build cut short (timeout, crash) is redone on the next start.
    printf '%s' "$wanted" >"$stamp"
}

_sales_startup() {
    local home="${AIRFLOW_HOME:-/usr/local/airflow}"
    local venv="${SALES_DBT_VENV:-$home/dbt_venv}"
    local python="${SALES_DBT_PYTHON:-python3}"
    local stamp="$venv/.sales-dbt-packages"
    local version wanted

    # Wheels shipped in plugins.zip (make deploy OFFLINE=1): build without an index.
    if [ -z "${SALES_DBT_WHEELHOUSE:-}" ] && [ -d "$home/plugins/wheels" ]; then
        SALES_DBT_WHEELHOUSE="$home/plugins/wheels"
    fi

    export SALES_DBT_VENV="$venv"
    export SALES_DBT_EXECUTABLE="$venv/bin/dbt"
    export SALES_DATA_DIR="${SALES_DATA_DIR:-$home/sales_data}"
    export DBT_SEND_ANONYMOUS_USAGE_STATS=False
    export DO_NOT_TRACK=1
    export AIRFLOW__COSMOS__ENABLE_TELEMETRY=False

    # The web server (API server) renders no dbt task and runs none.
    if [ "${MWAA_AIRFLOW_COMPONENT:-}" = "webserver" ]; then
        _sales_log "web server: dbt virtualenv not needed"
        return 0
    fi

    version="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)"
    if [ -z "$version" ]; then
        _sales_log "no Python at '$python': set SALES_DBT_PYTHON"
        return 1
    fi
    wanted="python$version $SALES_DBT_PACKAGES"
    if [ -x "$venv/bin/dbt" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
        _sales_log "dbt virtualenv up to date: $venv"
        return 0
    fi

    mkdir -p "$(dirname "$venv")" || return 1
    if command -v flock >/dev/null 2>&1; then
        # Containers sharing one volume build it once, the others wait.
        (
            flock -w 280 9 || exit 1
            _sales_build_dbt_venv "$venv" "$python" "$stamp" "$wanted"
        ) 9>"$venv.lock" || {
            _sales_log "could not build the dbt virtualenv in $venv"
            return 1
        }
    else
        _sales_build_dbt_venv "$venv" "$python" "$stamp" "$wanted" || {
            _sales_log "could not build the dbt virtualenv in $venv"
            return 1
        }
    fi
    _sales_log "dbt virtualenv ready: $SALES_DBT_EXECUTABLE"
}

_sales_startup
_sales_status=$?
unset -f _sales_startup _sales_build_dbt_venv _sales_log
# `return` hands the status to whoever sourced this file; `exit` would end their shell.
# shellcheck disable=SC2317
return "$_sales_status" 2>/dev/null || exit "$_sales_status"
