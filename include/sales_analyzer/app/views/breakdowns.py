"""Breakdowns: revenue by region, state, segment, category and sub-category."""

from __future__ import annotations

import altair as alt
import streamlit as st

from include.sales_analyzer.app import ui

DIMENSIONS = [
    ("region", "Region", None),
    ("state", "State", "region"),
    ("segment", "Segment", None),
    ("category", "Category", None),
    ("sub_category", "Sub-category", "category"),
]

filters = ui.page_filters()

st.title("Breakdowns")
st.caption(ui.describe(filters))

breakdown = ui.query("breakdown", filters.params())
if breakdown.empty:
    st.info("No sales match the filters.")
    st.stop()

for tab, (dimension, label, parent) in zip(st.tabs([d[1] for d in DIMENSIONS]), DIMENSIONS, strict=True):
    rows = breakdown[breakdown["dimension"] == dimension].sort_values("revenue", ascending=False)
    rows = rows.assign(share=rows["revenue"] / rows["revenue"].sum())
    rows = rows.rename(columns={"member": dimension, **({"parent": parent} if parent else {})})
    rows = rows[[dimension, *([parent] if parent else []), "revenue", "share", "orders", "customers"]]
    bars = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("revenue:Q", title="Revenue ($)"),
            y=alt.Y(f"{dimension}:N", sort="-x", title=label, axis=alt.Axis(labelLimit=220)),
            tooltip=[
                alt.Tooltip(f"{dimension}:N", title=label),
                alt.Tooltip("revenue:Q", format="$,.2f"),
                alt.Tooltip("share:Q", format=".1%"),
                alt.Tooltip("orders:Q", format=","),
            ],
        )
    )
    if parent:
        bars = bars.encode(color=alt.Color(f"{parent}:N", title=parent.replace("_", " ")))
    with tab:
        ui.chart(bars, height=70 + 28 * len(rows))
        ui.table(rows, f"revenue_by_{dimension}", {"revenue": ui.MONEY, "share": ui.PERCENT})
