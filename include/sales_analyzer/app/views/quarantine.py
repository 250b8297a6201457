"""Quarantine browser: why lines were set aside, the revenue they hold, and what was repaired or warned."""

from __future__ import annotations

import altair as alt
import streamlit as st

from include.sales_analyzer.app import reports, ui
from include.sales_analyzer.summary import money

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
findings = reports.read_repairs(
    data_dir / "lake" / "repairs" / "sales" / path.parent.name / "repairs.parquet"
)


def show_findings() -> None:
    """Values repaired (before and after) and rows warned on: all of them are in silver."""
    st.subheader("Repairs and warnings (rows kept in silver)")
    if findings.empty:
        st.caption("No value was repaired and no row warned on for this ingest date.")
        return
    repaired = int((findings["action"] == "repair").sum())
    left, right = st.columns(2)
    left.metric("Values repaired", ui.count(repaired), border=True)
    right.metric("Warnings", ui.count(len(findings) - repaired), border=True)
    ui.table(reports.finding_counts(findings), "finding_counts")
    st.caption(
        f"Showing {min(len(findings), SHOWN_LINES):,} of {len(findings):,}; the download has them all."
    )
    ui.table(findings.head(SHOWN_LINES), "repairs", download=findings)


if frame.empty:
    st.success("No line was quarantined for this ingest date: every record line reached silver.")
    show_findings()
    st.stop()

counts = reports.reason_counts(frame)
# Two to a row: the revenue held is a money figure with cents.
first, second, third, fourth = ui.card_columns(4, per_row=2)
first.metric("Quarantined lines", ui.count(len(frame)), border=True)
held = frame["revenue"].dropna()
fourth.metric(
    "Revenue held",
    money(sum(held, start=0)),
    help=f"Sum of the Sales field of the {len(held):,} quarantined lines where it parses",
    border=True,
)
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

show_findings()
