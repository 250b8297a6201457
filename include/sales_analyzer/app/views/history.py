"""Run history: every run's report under runs/ and the lines of etl_pipeline.log."""

from __future__ import annotations

import altair as alt
import streamlit as st

from include.sales_analyzer.app import reports, ui

data_dir = ui.data_dir()
runs = reports.run_history(data_dir)
log, bad_lines = reports.pipeline_log(data_dir)

st.title("Run history")
if runs.empty and log.empty:
    ui.no_data(
        "pipeline runs", f"no reports under {data_dir / 'runs'} and no {data_dir / 'etl_pipeline.log'}"
    )
    st.stop()

if not runs.empty:
    st.subheader(f"Runs ({len(runs)})")
    counts = runs.melt(
        id_vars=["written_at"], value_vars=["silver_rows", "quarantined"], var_name="rows", value_name="count"
    )
    ui.chart(
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("written_at:N", title="Run written at", sort=None),
            y=alt.Y("count:Q", title="Rows"),
            color=alt.Color("rows:N", title=None),
            tooltip=["written_at:N", "rows:N", "count:Q"],
        ),
        height=240,
    )
    ui.table(runs, "runs", {"bronze_lines": ui.COUNT, "silver_rows": ui.COUNT, "quarantined": ui.COUNT})
    run_key = st.selectbox("Show the report of run", runs["run_key"], key="history_run")
    with st.expander(f"runs/{run_key}.json"):
        st.json(reports.read_json(data_dir / "runs" / f"{run_key}.json") or {}, expanded=False)

st.subheader("etl_pipeline.log")
if bad_lines:
    st.warning(
        f"Lines {', '.join(map(str, bad_lines))} of etl_pipeline.log are not JSON objects and are skipped."
    )
if log.empty:
    st.caption(f"{data_dir / 'etl_pipeline.log'} has no entries.")
else:
    ui.table(log, "etl_pipeline_log")
