"""Top products and customers by revenue, with a name search."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from include.sales_analyzer.app import ui

filters = ui.page_filters()

st.title("Top products & customers")
st.caption(ui.describe(filters))
top_n = st.slider("How many", min_value=5, max_value=50, value=10, step=5, key="top_n")


def ranking(frame: pd.DataFrame, label: str) -> None:
    """Horizontal bars of revenue, largest first."""
    ui.chart(
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("revenue:Q", title="Revenue ($)"),
            y=alt.Y(f"{label}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
            tooltip=[f"{label}:N", alt.Tooltip("revenue:Q", format="$,.2f"), alt.Tooltip("orders:Q")],
        ),
        height=70 + 28 * len(frame),
    )


products_tab, customers_tab = st.tabs(["Products", "Customers"])
with products_tab:
    search = st.text_input("Product name contains", key="product_search", max_chars=100)
    products = ui.query("top_products", {**filters.params(), "top_n": top_n, "search": search.strip()})
    if products.empty:
        st.info("No products match.")
    else:
        ranking(products, "product_name")
        ui.table(products, "top_products", {"revenue": ui.MONEY})
with customers_tab:
    search = st.text_input("Customer name contains", key="customer_search", max_chars=100)
    customers = ui.query("top_customers", {**filters.params(), "top_n": top_n, "search": search.strip()})
    if customers.empty:
        st.info("No customers match.")
    else:
        ranking(customers, "customer_name")
        st.caption("Segment as on the customer's latest order.")
        ui.table(customers, "top_customers", {"revenue": ui.MONEY})
