"""The silver contract: one declaration of columns, types and rules for every engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CONTRACTS_DIR = Path(__file__).parent / "contracts"

# Day-first dates as the source writes them; a strict shape check runs before parsing,
# so 1/2/2017 or 2017-02-01 are rejected instead of being guessed at.
DATE_FORMATS = {"dd/mm/yyyy": ("%d/%m/%Y", r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$")}


@dataclass(frozen=True)
class Column:
    """One silver column and the rules its source field must meet."""

    name: str
    source: str
    type: str
    required: bool = False
    unique: bool = False
    pattern: str | None = None
    allowed: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    format: str | None = None
    not_before: str | None = None
    not_after: str | None = None  # only "ingest_date": no dates after the day the file came in
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None

    @property
    def strptime_format(self) -> str:
        """The strptime format of a date column."""
        return DATE_FORMATS[self.format or "dd/mm/yyyy"][0]

    @property
    def date_shape(self) -> str:
        """The regular expression a date field must match before it is parsed."""
        return DATE_FORMATS[self.format or "dd/mm/yyyy"][1]

    @property
    def sql_type(self) -> str:
        """The column's SQL type (DuckDB, Spark and Athena spell these alike)."""
        return {
            "bigint": "BIGINT",
            "int": "INTEGER",
            "string": "VARCHAR",
            "date": "DATE",
            "decimal": f"DECIMAL({self.precision or 18},{self.scale or 4})",
        }[self.type]

    @property
    def expected(self) -> str:
        """A human description of what a valid value looks like."""
        parts: list[str] = []
        if self.type == "date":
            parts.append(f"a date {self.format or 'dd/mm/yyyy'}")
        elif self.type == "bigint":
            parts.append("a whole number")
        elif self.type == "decimal":
            parts.append(f"a number with at most {self.scale or 4} decimals")
        if self.allowed:
            parts.append("one of " + ", ".join(self.allowed))
        if self.pattern:
            parts.append(f"matching {self.pattern}")
        if self.min is not None and self.max is not None:
            parts.append(f"between {self.min:g} and {self.max:g}")
        elif self.min is not None:
            parts.append(f">= {self.min:g}")
        if self.not_before:
            parts.append(f"not before {self.not_before}")
        if self.not_after:
            parts.append(f"not after the {self.not_after.replace('_', ' ')}")
        if self.max_length:
            parts.append(f"at most {self.max_length} characters")
        return ", ".join(parts) or "a non-empty value"


@dataclass(frozen=True)
class DerivedColumn:
    """A column silver computes: partitions and lineage."""

    name: str
    type: str
    expression: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Contract:
    """The whole silver contract."""

    name: str
    version: int
    columns: tuple[Column, ...]
    derived: tuple[DerivedColumn, ...]
    key: tuple[str, ...]
    partition_by: tuple[str, ...]
    max_quarantine_fraction: float
    delimiter: str = ","
    quote: str = '"'
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def source_names(self) -> list[str]:
        """Header names the source file must carry."""
        return [c.source for c in self.columns]

    def column(self, name: str) -> Column:
        """The column called `name`."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"contract {self.name!r} has no column {name!r}")

    @property
    def silver_columns(self) -> list[tuple[str, str]]:
        """(name, SQL type) of every silver column, in order."""
        derived = [(d.name, {"int": "INTEGER", "bigint": "BIGINT"}[d.type]) for d in self.derived]
        return [(c.name, c.sql_type) for c in self.columns] + derived


def _column(spec: dict[str, Any]) -> Column:
    spec = dict(spec)
    if "allowed" in spec:
        spec["allowed"] = tuple(spec["allowed"])
    return Column(**spec)


@cache
def load_contract(name: str = "sales") -> Contract:
    """Read the contract `name` from include/sales_analyzer/contracts/<name>.yml."""
    path = CONTRACTS_DIR / f"{name}.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return contract_from_dict(raw)


def contract_from_dict(raw: dict[str, Any]) -> Contract:
    """Build a Contract from its parsed YAML."""
    return Contract(
        name=raw["name"],
        version=int(raw["version"]),
        columns=tuple(_column(c) for c in raw["columns"]),
        derived=tuple(DerivedColumn(**d) for d in raw.get("derived", [])),
        key=tuple(raw["key"]),
        partition_by=tuple(raw["partition_by"]),
        max_quarantine_fraction=float(raw["quality"]["max_quarantine_fraction"]),
        delimiter=raw["source"].get("delimiter", ","),
        quote=raw["source"].get("quote", '"'),
        raw=raw,
    )
