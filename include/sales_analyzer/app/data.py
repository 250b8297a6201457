"""Read the published gold tables: the local DuckDB file, or Athena when PIPELINE_BACKEND=aws.

Queries live in `sql/*.sql` with named placeholders (`:name`). `bind` turns them into
positional `?` placeholders with the values passed separately, which both DuckDB and
Athena's execution parameters accept, so no value is ever formatted into SQL text.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from include.sales_analyzer.config import Settings

SQL_DIR = Path(__file__).resolve().parent / "sql"
FILTERED_CTE = "filtered_sales"
# These read the gold tables directly; every other query reads the filtered fact rows.
UNFILTERED_QUERIES = frozenset({"filter_options", "date_bounds", "refresh"})
_PLACEHOLDER = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")
_COMMENT_LINE = re.compile(r"^\s*--.*$", re.MULTILINE)


class GoldUnavailable(Exception):
    """The gold tables cannot be read: not published yet, or published by an older pipeline."""


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices; an empty tuple means no restriction on that dimension."""

    start_date: date
    end_date: date
    regions: tuple[str, ...] = ()
    segments: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def days(self) -> int:
        """Length of the date window in days, both ends included."""
        return (self.end_date - self.start_date).days + 1

    def previous_period(self) -> Filters:
        """The same filters over the equally long window that ends the day before this one starts."""
        end = self.start_date - timedelta(days=1)
        return replace(self, start_date=end - timedelta(days=self.days - 1), end_date=end)

    def params(self) -> dict[str, Any]:
        """Values for the placeholders of sql/filtered_sales.sql."""
        return {
            "start_date": self.start_date,
            "end_date": self.end_date,
            "all_regions": int(not self.regions),
            "regions": list(self.regions),
            "all_segments": int(not self.segments),
            "segments": list(self.segments),
            "all_categories": int(not self.categories),
            "categories": list(self.categories),
        }


class GoldSource(Protocol):
    """Where the gold tables are read from."""

    @property
    def label(self) -> str:
        """Where the data comes from, for people."""
        ...

    def version(self) -> str:
        """A token that changes whenever the published gold may have changed."""
        ...

    def fetch(self, sql: str, values: Sequence[Any]) -> pd.DataFrame:
        """Run one query with `?` placeholders and its values."""
        ...


@dataclass(frozen=True)
class DuckDBSource:
    """The DuckDB file `make run` publishes, opened read-only for each query."""

    path: Path

    @property
    def label(self) -> str:
        """Where the data comes from, for people."""
        return f"DuckDB {self.path}"

    def version(self) -> str:
        """The file's identity: publishing replaces it (os.replace), which changes all three."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            raise GoldUnavailable(f"{self.path} does not exist yet") from None
        return f"{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}"

    def fetch(self, sql: str, values: Sequence[Any]) -> pd.DataFrame:
        """Run one query on a short-lived read-only connection (no lock outlives it)."""
        import duckdb

        try:
            with duckdb.connect(str(self.path), read_only=True) as con:
                return con.execute(sql, list(values)).df()
        except duckdb.IOException as exc:
            raise GoldUnavailable(f"cannot open {self.path}: {_first_line(exc)}") from exc
        except (duckdb.CatalogException, duckdb.BinderException) as exc:
            raise GoldUnavailable(
                f"{self.path} lacks a table or column the app reads, so it was published by an older"
                f" version of the pipeline ({_first_line(exc)})"
            ) from exc


@dataclass(frozen=True)
class AthenaSource:
    """The gold tables dbt-athena builds in the Glue database, queried through PyAthena."""

    database: str
    work_group: str
    s3_staging_dir: str
    region_name: str | None = None
    refresh_seconds: int = 300

    @property
    def label(self) -> str:
        """Where the data comes from, for people."""
        return f"Athena {self.database} (workgroup {self.work_group})"

    def version(self) -> str:
        """A clock bucket: Athena has no cheap change marker, so results are reused for a while."""
        return str(int(time.time() // self.refresh_seconds))

    def fetch(self, sql: str, values: Sequence[Any]) -> pd.DataFrame:
        """Run one query with Athena execution parameters (server-side, qmark style)."""
        from pyathena import connect
        from pyathena.error import DatabaseError
        from pyathena.pandas.cursor import PandasCursor

        try:
            with connect(
                s3_staging_dir=self.s3_staging_dir,
                work_group=self.work_group,
                schema_name=self.database,
                region_name=self.region_name,
                cursor_class=PandasCursor,
            ) as conn:
                cursor = conn.cursor()
                params = [athena_literal(v) for v in values] or None
                cursor.execute(sql, params, paramstyle="qmark")
                return cursor.as_pandas()
        except DatabaseError as exc:
            raise GoldUnavailable(f"Athena query on {self.database} failed: {_first_line(exc)}") from exc


def source_for(settings: Settings) -> GoldSource:
    """The gold source PIPELINE_BACKEND picks: DuckDB locally, Athena on AWS."""
    if settings.backend == "aws":
        return AthenaSource(
            database=settings.glue_database,
            work_group=settings.athena_workgroup,
            s3_staging_dir=f"s3://{settings.bucket}/athena-results/",
            region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        )
    return DuckDBSource(settings.published_path)


def load_sql(name: str) -> str:
    """The text of sql/<name>.sql, behind the `filtered` CTE unless it reads gold directly."""
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise ValueError(f"unknown query {name!r}: no {path}")
    body = path.read_text(encoding="utf-8")
    if name in UNFILTERED_QUERIES:
        return body
    cte = (SQL_DIR / f"{FILTERED_CTE}.sql").read_text(encoding="utf-8")
    return "with filtered as (\n" + cte + ")\n" + body


def bind(sql: str, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """Replace each `:name` by `?` and collect its value; a list becomes `?, ?, ...` (SQL: `in (:name)`)."""
    values: list[Any] = []

    def placeholder(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            raise KeyError(f"query parameter :{name} has no value (given: {', '.join(sorted(params))})")
        value = params[name]
        if isinstance(value, list | tuple):
            values.extend(value)
            # `x in (null)` matches nothing; each list is paired with an `all_*` switch in the SQL.
            return ", ".join(["?"] * len(value)) if value else "null"
        values.append(value)
        return "?"

    return _PLACEHOLDER.sub(placeholder, _COMMENT_LINE.sub("", sql)), values


def athena_literal(value: Any) -> str:
    """A value written as the SQL literal Athena's execution parameters expect."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"Athena has no literal for the float {value!r}")
        return repr(value)
    if isinstance(value, datetime):
        return "timestamp '" + value.isoformat(sep=" ") + "'"
    if isinstance(value, date):
        return "date '" + value.isoformat() + "'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no Athena literal for {type(value).__name__} value {value!r}")


def query(source: GoldSource, name: str, params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run sql/<name>.sql on the source with bound parameters; decimals come back as floats."""
    sql, values = bind(load_sql(name), params or {})
    return _decimals_to_float(source.fetch(sql, values))


def _decimals_to_float(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if frame[column].dtype == object:
            sample = frame[column].dropna()
            if not sample.empty and isinstance(sample.iloc[0], Decimal):
                frame[column] = frame[column].astype(float)
    return frame


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
