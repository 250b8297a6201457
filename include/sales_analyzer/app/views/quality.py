"""Quality gate: every expectation of the latest validation with what was observed."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from include.sales_analyzer.app import reports, ui
from include.sales_analyzer.summary import summary_lines

data_dir = ui.data_dir()
report = reports.quality_report(data_dir)

st.title("Quality gate")
if report is None:
    ui.no_data("quality report", f"{data_dir / 'quality_report.json'} does not exist")
    st.stop()
st.caption(f"Great Expectations validation of silver for run {report.get('run_key', 'n/a')}")

expectations = reports.expectations(report)
first, second, third, fourth = st.columns(4)
first.metric("Result", "passed" if report.get("success") else "failed", border=True)
second.metric("Expectations evaluated", ui.count(report.get("evaluated") or len(expectations)), border=True)
third.metric("Failed", ui.count(report.get("failed") or 0), border=True)
fourth.metric(
    "Warnings",
    ui.count(report.get("warnings") or 0),
    help="Expectations of rules the contract only warns on: observed counts, not a failure",
    border=True,
)
run = reports.latest_run(data_dir)
if run and run.get("run_key") == report.get("run_key") and "quarantine" in run:
    st.markdown("\n".join(f"- {line}" for line in summary_lines(run)))

docs = report.get("data_docs")
if docs and Path(docs).exists():
    st.markdown(f"[Open the Great Expectations Data Docs]({Path(docs).as_uri()})")
    st.caption("Browsers may refuse to open a file:// link from a web page; then paste this path instead:")
    st.code(docs, language=None)
else:
    st.caption(f"No Data Docs found at {docs}." if docs else "This report names no Data Docs.")

only_failed = st.toggle("Only failed expectations", key="only_failed")
shown = expectations[~expectations["success"].astype(bool)] if only_failed else expectations
ui.table(shown, "expectations")

for _, failed in expectations[~expectations["success"].astype(bool)].iterrows():
    with st.expander(f"Failed: {failed['expectation']} on {failed['column']}"):
        st.markdown(f"Observed: `{failed['observed']}`")
        st.markdown("Arguments:")
        st.code(failed["kwargs"] or "", language="json")
        if failed["unexpected_sample"]:
            st.markdown("Sample of unexpected values:")
            st.code(failed["unexpected_sample"], language="json")
