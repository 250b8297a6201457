"""Revenue over time: monthly and yearly, and each year's months side by side."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from include.sales_analyzer.app import ui

filters = ui.page_filters()
params = filters.params()

st.title("Revenue over time")
st.caption(ui.describe(filters))

monthly = ui.query("monthly", params)
if monthly.empty:
    st.info("No sales match the filters.")
    st.stop()
monthly["month"] = pd.to_datetime({"year": monthly["order_year"], "month": monthly["order_month"], "day": 1})
yearly = ui.query("yearly", params)
yearly["yoy_growth"] = yearly["revenue"] / yearly["previous_revenue"] - 1
YEAR = st.column_config.NumberColumn(format="%d")

by_month, by_year = st.tabs(["Monthly", "Yearly"])
with by_month:
    ui.chart(
        alt.Chart(monthly)
        .mark_line(point=True)
        .encode(
            x=alt.X("yearmonth(month):T", title="Month"),
            y=alt.Y("revenue:Q", title="Revenue ($)"),
            tooltip=[
                alt.Tooltip("yearmonth(month):T", title="Month"),
                alt.Tooltip("revenue:Q", format="$,.2f"),
                alt.Tooltip("orders:Q", format=","),
            ],
        )
    )
    ui.table(
        monthly[["order_year", "order_month", "revenue", "orders", "customers"]],
        "revenue_monthly",
        {"revenue": ui.MONEY, "order_year": YEAR},
    )
with by_year:
    left, right = st.columns(2)
    with left:
        ui.chart(
            alt.Chart(yearly, title="Revenue per year")
            .mark_bar()
            .encode(
                x=alt.X("order_year:O", title="Year"),
                y=alt.Y("revenue:Q", title="Revenue ($)"),
                tooltip=[
                    alt.Tooltip("order_year:O", title="Year"),
                    alt.Tooltip("revenue:Q", format="$,.2f"),
                    alt.Tooltip("yoy_growth:Q", format="+.1%", title="vs previous year"),
                ],
            )
        )
    with right:
        ui.chart(
            alt.Chart(monthly, title="Year on year, month by month")
            .mark_line(point=True)
            .encode(
                x=alt.X("order_month:O", title="Month of year"),
                y=alt.Y("revenue:Q", title="Revenue ($)"),
                color=alt.Color("order_year:N", title="Year"),
                tooltip=["order_year:N", "order_month:O", alt.Tooltip("revenue:Q", format="$,.2f")],
            )
        )
    ui.table(
        yearly[["order_year", "revenue", "previous_revenue", "yoy_growth", "orders", "customers"]],
        "revenue_yearly",
        {"revenue": ui.MONEY, "previous_revenue": ui.MONEY, "yoy_growth": ui.PERCENT, "order_year": YEAR},
    )
