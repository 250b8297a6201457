"""Overview: headline figures for the filtered sales, with growth against the previous period."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from include.sales_analyzer.app import ui

filters = ui.page_filters()
previous = filters.previous_period()
params = filters.params()

st.title("Overview")
st.caption(ui.describe(filters))

now = ui.query("kpis", params).iloc[0]
before = ui.query("kpis", previous.params()).iloc[0]


def order_value(row: pd.Series) -> float:
    """Average order value: revenue over distinct orders."""
    return float(row["revenue"]) / row["orders"] if row["orders"] else 0.0


figures = [
    ("Revenue", float(now["revenue"]), float(before["revenue"]), lambda v: ui.money(v, cents=False)),
    ("Orders", int(now["orders"]), int(before["orders"]), ui.count),
    ("Customers", int(now["customers"]), int(before["customers"]), ui.count),
    ("Average order value", order_value(now), order_value(before), ui.money),
    ("Order lines", int(now["order_lines"]), int(before["order_lines"]), ui.count),
]
comparison = f"vs previous {previous.days} days"
for column, (label, current, earlier, fmt) in zip(ui.card_columns(len(figures)), figures, strict=True):
    growth = ui.change(current, earlier)
    column.metric(
        label,
        fmt(current),
        delta=None if growth is None else f"{growth:+.1%}",
        delta_description=None if growth is None else comparison,
        border=True,
    )
if not before["orders"]:
    st.caption(
        f"No orders from {previous.start_date} to {previous.end_date} (the {previous.days} days before the"
        " selected window), so growth is not shown: narrow the date range to compare periods."
    )
else:
    st.caption(f"Growth compares with {previous.start_date} to {previous.end_date}, the same number of days.")

if not now["orders"]:
    st.info("No sales match the filters.")
    st.stop()

monthly = ui.query("monthly", params)
monthly["month"] = pd.to_datetime({"year": monthly["order_year"], "month": monthly["order_month"], "day": 1})
st.subheader("Monthly revenue")
ui.chart(
    alt.Chart(monthly)
    .mark_area(line=True, opacity=0.4)
    .encode(
        x=alt.X("yearmonth(month):T", title="Month"),
        y=alt.Y("revenue:Q", title="Revenue ($)"),
        tooltip=[alt.Tooltip("yearmonth(month):T", title="Month"), alt.Tooltip("revenue:Q", format="$,.2f")],
    ),
    height=260,
)

st.subheader("Headline figures")
headline = pd.DataFrame(
    [
        {
            "measure": label,
            "selected_period": round(current, 2),
            "previous_period": round(earlier, 2),
            "change": ui.change(current, earlier),
        }
        for label, current, earlier, _ in figures
    ]
)
ui.table(
    headline, "headline", {"selected_period": ui.COUNT, "previous_period": ui.COUNT, "change": ui.PERCENT}
)
st.caption(ui.refreshed_text())
