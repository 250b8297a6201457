"""Smart Sales Analyzer: a Streamlit app over the published gold tables (`make app`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# pyarrow 25's bundled mimalloc segfaults when a Streamlit script thread that first loaded it has
# exited and a later run allocates (apache/arrow#50471); the system allocator does not. It is
# read once, when pyarrow first allocates, so it must be set before anything imports pyarrow.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

# `streamlit run` puts this file's folder on sys.path, not the repository root the imports need.
_REPO_ROOT = str(Path(__file__).resolve().parents[3])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

import streamlit as st  # noqa: E402

from include.sales_analyzer.app import ui  # noqa: E402

SALES_PAGES = [
    st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("views/revenue.py", title="Revenue over time", icon=":material/show_chart:"),
    st.Page("views/breakdowns.py", title="Breakdowns", icon=":material/pie_chart:"),
    st.Page("views/top.py", title="Top products & customers", icon=":material/leaderboard:"),
    st.Page("views/shipping.py", title="Shipping", icon=":material/local_shipping:"),
]
PIPELINE_PAGES = [
    st.Page("views/run_report.py", title="Latest run", icon=":material/receipt_long:"),
    st.Page("views/quality.py", title="Quality gate", icon=":material/fact_check:"),
    st.Page("views/quarantine.py", title="Quarantine", icon=":material/report:"),
    st.Page("views/history.py", title="Run history", icon=":material/history:"),
]

st.set_page_config(page_title="Smart Sales Analyzer", page_icon=":bar_chart:", layout="wide")
page = st.navigation({"Sales": SALES_PAGES, "Pipeline": PIPELINE_PAGES})
ui.sidebar(show_filters=page.url_path in {p.url_path for p in SALES_PAGES})
page.run()
