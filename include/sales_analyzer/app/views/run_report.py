"""Latest run: source, checksum, rows per layer, the conservation law and stage timings."""

from __future__ import annotations

import altair as alt
import streamlit as st

from include.sales_analyzer.app import reports, ui

report = ui.latest_run_or_stop()
rows = report.get("rows") or {}
law = report.get("conservation") or {}
quality = report.get("quality") or {}

st.title("Latest run")
st.caption(
    f"Run {report.get('run_id')} · written {report.get('written_at')} · backend {report.get('backend')}"
)

figures = [
    ("Bronze lines", rows.get("bronze_lines")),
    ("Silver rows", rows.get("silver")),
    ("Quarantined lines", rows.get("quarantine")),
    ("Header and blank lines", rows.get("non_record_lines")),
]
columns = ui.card_columns(len(figures) + 1)
for column, (label, value) in zip(columns, figures, strict=False):
    column.metric(label, "n/a" if value is None else ui.count(value), border=True)
columns[-1].metric(
    "Quality gate", {True: "passed", False: "failed"}.get(quality.get("success"), "n/a"), border=True
)

equation = (
    f"bronze {law.get('bronze_lines', 0):,} lines = silver {law.get('silver_rows', 0):,} rows"
    f" + quarantine {law.get('quarantined_lines', 0):,} lines"
    f" + header/blank {law.get('non_record_lines', 0):,} lines"
)
if law.get("holds"):
    st.success(f"Conservation law holds: {equation}", icon=":material/balance:")
else:
    st.error(f"Conservation law does not hold: {equation}", icon=":material/error:")

source, bronze = report.get("source") or {}, report.get("bronze") or {}
left, right = st.columns(2)
with left:
    st.subheader("Source")
    st.markdown(source.get("description") or "(no description)")
    st.code(source.get("path") or "", language=None, wrap_lines=True)
    with st.expander("Run parameters"):
        st.json(report.get("params") or {})
with right:
    st.subheader("Bronze file")
    st.markdown(
        f"SHA-256 of the file as landed ({bronze.get('bytes', 0):,} bytes, {bronze.get('lines', 0):,} lines):"
    )
    st.code(bronze.get("sha256") or "", language=None, wrap_lines=True)
    st.caption(bronze.get("path") or "")

st.subheader("Rows per layer")
ui.table(reports.layer_rows(report), "rows_per_layer", {"rows": ui.COUNT})
if report.get("quarantine_by_reason"):
    st.page_link("views/quarantine.py", label="Browse the quarantined lines", icon=":material/report:")

st.subheader("Timings")
timings = reports.timings(report)
ui.chart(
    alt.Chart(timings)
    .mark_bar()
    .encode(
        x=alt.X("seconds:Q", title="Seconds"),
        y=alt.Y("stage:N", sort=None, title=None),
        tooltip=["stage:N", alt.Tooltip("seconds:Q", format=".2f")],
    ),
    height=70 + 28 * len(timings),
)
ui.table(timings, "timings", {"seconds": ui.DAYS})

with st.expander("Full run report (run_report.json)"):
    st.json(report, expanded=False)
