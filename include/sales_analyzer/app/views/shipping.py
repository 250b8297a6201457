"""Shipping: the mix of ship modes and how many days orders take to ship."""

from __future__ import annotations

import altair as alt
import streamlit as st

from include.sales_analyzer.app import ui

filters = ui.page_filters()
params = filters.params()

st.title("Shipping")
st.caption(ui.describe(filters))

modes = ui.query("ship_modes", params)
if modes.empty:
    st.info("No sales match the filters.")
    st.stop()
days = ui.query("days_to_ship", params)
modes["share"] = modes["order_lines"] / modes["order_lines"].sum()
lines = int(days["order_lines"].sum())
mean_days = float((days["days_to_ship"] * days["order_lines"]).sum()) / lines
within_3 = int(days.loc[days["days_to_ship"] <= 3, "order_lines"].sum()) / lines

first, second, third = st.columns(3)
first.metric("Average days to ship", f"{mean_days:.2f}", border=True)
second.metric("Shipped within 3 days", f"{within_3:.1%}", border=True)
third.metric("Order lines", ui.count(lines), border=True)

left, right = st.columns(2)
with left:
    ui.chart(
        alt.Chart(modes, title="Ship mode mix (order lines)")
        .mark_arc(innerRadius=60)
        .encode(
            theta=alt.Theta("order_lines:Q"),
            color=alt.Color("ship_mode:N", title="Ship mode"),
            tooltip=["ship_mode:N", alt.Tooltip("share:Q", format=".1%"), alt.Tooltip("order_lines:Q")],
        )
    )
with right:
    ui.chart(
        alt.Chart(days, title="Days to ship")
        .mark_bar()
        .encode(
            x=alt.X("days_to_ship:O", title="Days from order to shipping"),
            y=alt.Y("order_lines:Q", title="Order lines"),
            color=alt.Color("ship_mode:N", title="Ship mode"),
            tooltip=["days_to_ship:O", "ship_mode:N", "order_lines:Q"],
        )
    )

st.subheader("By ship mode")
ui.table(
    modes[["ship_mode", "order_lines", "share", "orders", "revenue", "avg_days_to_ship"]],
    "ship_modes",
    {
        "order_lines": ui.COUNT,
        "orders": ui.COUNT,
        "share": ui.PERCENT,
        "revenue": ui.MONEY,
        "avg_days_to_ship": ui.DAYS,
    },
)
st.subheader("Days to ship")
ui.table(days, "days_to_ship")
