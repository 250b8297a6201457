"""Quarantine browser: why lines were set aside, and the lines themselves with their numbers."""

from __future__ import annotations

import altair as alt
import streamlit as st

from include.sales_analyzer.app import reports, ui

ALL_REASONS = "all reasons"
SHOWN_LINES = 1000

data_dir = ui.data_dir()
partitions = reports.quarantine_partitions(data_dir)

st.title("Quarantine")
if not partitions:
    ui.no_data("quarantine", f"no quarantine files under {data_dir / 'lake' / 'quarantine'}")
    st.stop()

ingest_date = st.selectbox("Ingest date", list(partitions), key="ingest_date")
path = partitions[ingest_date]
frame = ui.quarantine(str(path), path.stat().st_mtime_ns)
st.caption(str(path))
if frame.empty:
    st.success("No line was quarantined for this ingest date: every record line reached silver.")
    st.stop()

counts = reports.reason_counts(frame)
first, second, third = st.columns(3)
first.metric("Quarantined lines", ui.count(len(frame)), border=True)
second.metric("Reasons", ui.count(len(counts)), border=True)
third.metric("Source files", ui.count(frame["source_file"].nunique()), border=True)

st.subheader("Lines by reason")
left, right = st.columns([3, 2])
with left:
    ui.chart(
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("lines:Q", title="Lines", axis=alt.Axis(tickMinStep=1)),
            y=alt.Y("reason:N", sort="-x", title=None, axis=alt.Axis(labelLimit=240)),
            tooltip=["reason:N", "lines:Q"],
        ),
        height=70 + 28 * len(counts),
    )
with right:
    ui.table(counts, "quarantine_reasons")

st.subheader("Lines")
reason = st.selectbox("Reason", [ALL_REASONS, *counts["reason"]], key="reason")
chosen = frame if reason == ALL_REASONS else frame[frame["reason"] == reason]
chosen = chosen[reports.QUARANTINE_COLUMNS]
st.caption(f"Showing {min(len(chosen), SHOWN_LINES):,} of {len(chosen):,} lines; the download has them all.")
ui.table(chosen.head(SHOWN_LINES), "quarantine_lines", download=chosen)
