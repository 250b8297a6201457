"""Streamlit helpers the pages share: the gold source, cached queries, filters, tables, messages."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from include.sales_analyzer.app import data, reports
from include.sales_analyzer.config import get_settings

FILTERS_KEY = "_sales_filters"
PROBLEM_KEY = "_gold_problem"
MONEY = st.column_config.NumberColumn(format="dollar")
COUNT = st.column_config.NumberColumn(format="localized")
PERCENT = st.column_config.NumberColumn(format="percent")
DAYS = st.column_config.NumberColumn(format="%.2f")


def source() -> data.GoldSource:
    """The gold source for the current settings (read on every run, so env changes apply)."""
    return data.source_for(get_settings())


@st.cache_data(show_spinner=False, max_entries=512)
def _cached_query(
    _source: data.GoldSource, label: str, version: str, name: str, params: dict
) -> pd.DataFrame:
    """Query results, reused until the source's version (the DuckDB file's mtime) changes."""
    return data.query(_source, name, params)


def query(name: str, params: dict[str, Any] | None = None) -> pd.DataFrame:
    """Run sql/<name>.sql on the gold source, cached per published version."""
    src = source()
    return _cached_query(src, src.label, src.version(), name, params or {})


def data_dir() -> Path:
    """Where the pipeline writes its reports (SALES_DATA_DIR)."""
    return get_settings().data_dir


def sidebar(show_filters: bool) -> None:
    """Show the filters (on the sales pages) and when gold was refreshed; keep the filters for the page."""
    st.session_state[FILTERS_KEY] = None
    st.session_state[PROBLEM_KEY] = None
    src = source()
    try:
        options = query("filter_options")
        bounds = query("date_bounds").iloc[0]
        if pd.isna(bounds["first_date"]):
            raise data.GoldUnavailable(f"fct_sales in {src.label} has no rows")
    except data.GoldUnavailable as exc:
        st.session_state[PROBLEM_KEY] = str(exc)
        st.sidebar.caption(f"No gold data ({src.label})")
        return
    with st.sidebar:
        if show_filters:
            members = {
                d: options.loc[options["dimension"] == d, "member"].tolist() for d in options["dimension"]
            }
            st.session_state[FILTERS_KEY] = _filter_widgets(
                members, _as_date(bounds["first_date"]), _as_date(bounds["last_date"])
            )
        st.caption(refreshed_text())
        st.caption(f"Source: {src.label}")


def _filter_widgets(members: dict[str, list[str]], first: date, last: date) -> data.Filters:
    st.header("Filters")
    picked = st.date_input(
        "Order date",
        value=(first, last),
        min_value=first,
        max_value=last,
        key="dates",
        format="YYYY-MM-DD",
        persist_state="session",
    )
    # While a range is being picked the widget returns only its start.
    dates = tuple(picked) if isinstance(picked, tuple | list) else (picked,)
    start = dates[0] if dates and dates[0] else first
    end = dates[1] if len(dates) > 1 and dates[1] else last
    chosen = {
        dimension: st.multiselect(
            label,
            members.get(dimension, []),
            key=dimension,
            bind="query-params",
            persist_state="session",
            placeholder=f"All {plural}",
        )
        for dimension, label, plural in (
            ("region", "Region", "regions"),
            ("segment", "Segment", "segments"),
            ("category", "Category", "categories"),
        )
    }
    return data.Filters(
        start_date=max(start, first),
        end_date=min(end, last),
        regions=tuple(chosen["region"]),
        segments=tuple(chosen["segment"]),
        categories=tuple(chosen["category"]),
    )


def refreshed_text() -> str:
    """When the gold tables were last published, and by which run."""
    try:
        refresh = query("refresh")
    except data.GoldUnavailable:
        return "Gold refresh time unknown (no _pipeline_refresh table)"
    if refresh.empty:
        return "Gold refresh time unknown (_pipeline_refresh is empty)"
    row = refresh.iloc[0]
    at = pd.Timestamp(row["refreshed_at"])
    at = at.tz_localize(UTC) if at.tzinfo is None else at.tz_convert(UTC)
    minutes = int((datetime.now(UTC) - at.to_pydatetime()).total_seconds() // 60)
    ago = f"{minutes} min ago" if minutes < 120 else f"{minutes // 60} h ago"
    return f"Gold refreshed {at:%Y-%m-%d %H:%M} UTC ({ago}) by run {row['run_key']}"


def page_filters() -> data.Filters:
    """The sidebar's filters; without gold data, say how to produce it and stop the page."""
    filters = st.session_state.get(FILTERS_KEY)
    if filters is None:
        no_data("gold data", st.session_state.get(PROBLEM_KEY) or "the gold tables cannot be read")
        st.stop()
    return filters


def latest_run_or_stop() -> dict[str, Any]:
    """run_report.json; without it, say how to produce it and stop the page."""
    report = reports.latest_run(data_dir())
    if report is None:
        no_data("pipeline run", f"{data_dir() / 'run_report.json'} does not exist")
        st.stop()
    return report


def no_data(what: str, problem: str) -> None:
    """Explain that there is nothing to show yet and the command that produces it."""
    st.info(f"No {what} yet: {problem}.", icon=":material/info:")
    st.markdown("Run the pipeline from the repository root, then reload this page:")
    st.code("make run", language="bash")


def describe(filters: data.Filters) -> str:
    """The filters in one line, for page captions."""
    parts = [f"{filters.start_date:%Y-%m-%d} to {filters.end_date:%Y-%m-%d}"]
    for label, chosen in (
        ("regions", filters.regions),
        ("segments", filters.segments),
        ("categories", filters.categories),
    ):
        parts.append(f"{label}: {', '.join(chosen)}" if chosen else f"all {label}")
    return " · ".join(parts)


def table(
    frame: pd.DataFrame,
    name: str,
    column_config: dict[str, Any] | None = None,
    download: pd.DataFrame | None = None,
) -> None:
    """A table and a button that downloads it (or `download`, when the table is a sample) as CSV."""
    st.dataframe(frame, hide_index=True, column_config=column_config)
    st.download_button(
        "Download CSV",
        (frame if download is None else download).to_csv(index=False).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download_{name}",
        on_click="ignore",
        icon=":material/download:",
    )


@st.cache_data(show_spinner=False, max_entries=16)
def quarantine(path: str, mtime_ns: int) -> pd.DataFrame:
    """One quarantine file, cached until it changes."""
    return reports.read_quarantine(Path(path))


def card_columns(count: int, per_row: int = 3) -> list[Any]:
    """`count` columns for metric cards, at most `per_row` to a row (the last row left-aligned).

    A metric's value is one line, cut with an ellipsis when its card is too narrow: at a
    1280-pixel window, cards four or five to a row cut a full data set's revenue
    ("$2,261,537" shown as "$2,143,..."); three to a row hold "$2,261,536.78".
    """
    columns: list[Any] = []
    for start in range(0, count, per_row):
        columns += st.columns(per_row)[: min(per_row, count - start)]
    return columns


def chart(spec: alt.Chart, height: int = 300) -> None:
    """An Altair chart across the container, `height` pixels tall.

    Drawn as SVG (vega-embed reads `usermeta.embedOptions`), so each mark is an element a
    browser test can count: a canvas shows axes and an empty plot alike.
    """
    spec = spec.properties(height=height, usermeta={"embedOptions": {"renderer": "svg"}})
    st.altair_chart(spec, width="stretch", height=height)


def money(value: float, cents: bool = True) -> str:
    """Dollars with thousands separators, and cents unless told not to."""
    return f"${value:,.2f}" if cents else f"${value:,.0f}"


def count(value: float) -> str:
    """A whole number with thousands separators."""
    return f"{int(value):,}"


def change(current: float, previous: float) -> float | None:
    """Relative change, or None when there is nothing to compare with."""
    if not previous:
        return None
    return (current - previous) / previous


def _as_date(value: Any) -> date:
    return pd.Timestamp(value).date()
