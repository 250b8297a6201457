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


SEVERITIES = ("quarantine", "warn")
# The rules a column can declare; each one present needs an `on_fail` severity.
RULES = (
    "required",
    "type",
    "pattern",
    "allowed",
    "min",
    "max",
    "max_length",
    "earliest",
    "not_before",
    "max_days_after",
    "not_after",
)


@dataclass(frozen=True)
class Repair:
    """A known, lossless fix applied to a column's value before its rules are checked."""

    rule: str
    column: str
    source: str
    when: str  # the value is repaired only when it fully matches this regular expression
    width: int = 0  # left_pad: left-pad to this width ...
    fill: str = ""  # ... with this character
    remove: str = ""  # remove: delete every match of this regular expression instead

    @property
    def description(self) -> str:
        """What the repair does, for the repairs table."""
        if self.remove:
            return f"removed {self.remove} (value matched {self.when})"
        return f"left-padded to {self.width} with {self.fill!r} (value matched {self.when})"


@dataclass(frozen=True)
class Column:
    """One silver column and the rules its source field must meet."""

    name: str
    source: str
    type: str
    required: bool = False
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
    earliest: str | None = None  # ISO date: no date before it is plausible
    max_days_after: int | None = None  # at most this many days after the `not_before` column
    on_fail: dict[str, str] = field(default_factory=dict, compare=False)
    repair: tuple[Repair, ...] = ()

    @property
    def rules(self) -> list[str]:
        """The rules this column declares, in RULES order."""
        present = {
            "required": self.required,
            "type": self.type in ("bigint", "decimal", "date"),
            "pattern": self.pattern is not None,
            "allowed": self.allowed is not None,
            "min": self.min is not None,
            "max": self.max is not None,
            "max_length": self.max_length is not None,
            "earliest": self.earliest is not None,
            "not_before": self.not_before is not None,
            "max_days_after": self.max_days_after is not None,
            "not_after": self.not_after is not None,
        }
        return [r for r in RULES if present[r]]

    def severity(self, rule: str) -> str:
        """What a failure of `rule` does to the line: quarantine or warn."""
        return self.on_fail[rule]

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
        if self.earliest:
            parts.append(f"not before {self.earliest}")
        if self.not_before:
            parts.append(f"not before {self.not_before}")
        if self.max_days_after is not None:
            parts.append(f"at most {self.max_days_after} days after {self.not_before}")
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
    revenue_column: str = "sales"  # the amount whose quarantined total the run reports
    whitespace: str = "repair"
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
    def repairs(self) -> list[Repair]:
        """Every column repair, in column order."""
        return [r for c in self.columns for r in c.repair]

    @property
    def silver_columns(self) -> list[tuple[str, str]]:
        """(name, SQL type) of every silver column, in order."""
        derived = [(d.name, {"int": "INTEGER", "bigint": "BIGINT"}[d.type]) for d in self.derived]
        return [(c.name, c.sql_type) for c in self.columns] + derived


class ContractError(ValueError):
    """The contract YAML is inconsistent."""


def _column(spec: dict[str, Any]) -> Column:
    spec = dict(spec)
    if "allowed" in spec:
        spec["allowed"] = tuple(spec["allowed"])
    if "earliest" in spec:
        spec["earliest"] = str(spec["earliest"])
    repairs = []
    for r in spec.pop("repair", []) or []:
        where = (r["rule"], spec["name"], spec["source"], r["when"])
        if ("left_pad" in r) == ("remove" in r):
            raise ContractError(f"{spec['name']}: repair {r['rule']!r} needs one of left_pad and remove")
        if "remove" in r:
            repairs.append(Repair(*where, remove=r["remove"]))
        else:
            repairs.append(Repair(*where, width=int(r["left_pad"]["width"]), fill=r["left_pad"]["fill"]))
    column = Column(**spec, repair=tuple(repairs))
    # Every rule says what its failure does; a rule without a severity, or a severity without
    # its rule, is a mistake in the contract, found when it is loaded.
    declared, present = set(column.on_fail), set(column.rules)
    if declared != present:
        raise ContractError(
            f"column {column.name}: on_fail must name exactly its rules {sorted(present)}, "
            f"not {sorted(declared)}"
        )
    bad = {k: v for k, v in column.on_fail.items() if v not in SEVERITIES}
    if bad:
        raise ContractError(f"column {column.name}: unknown severities {bad}; use one of {SEVERITIES}")
    if column.max_days_after is not None and not column.not_before:
        raise ContractError(f"column {column.name}: max_days_after needs not_before")
    return column


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
        revenue_column=raw["quality"].get("revenue_column", "sales"),
        whitespace=raw["source"].get("whitespace", "repair"),
        raw=raw,
    )
