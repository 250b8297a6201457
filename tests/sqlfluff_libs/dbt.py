"""Stand-ins for dbt's cross-database macros so sqlfluff's jinja templater can lint the models.

sqlfluff's dbt templater needs dbt in the linting environment, and dbt lives in its own
virtualenv (see requirements-dbt.txt); these render the DuckDB form of each macro instead.
"""

from __future__ import annotations


def datediff(first: str, second: str, part: str) -> str:
    """DuckDB's date_diff."""
    return f"date_diff('{part}', {first}, {second})"


def concat(fields: list[str]) -> str:
    """SQL concat of the fields."""
    return "concat(" + ", ".join(fields) + ")"


def hash(field: str) -> str:
    """md5 of a value as text."""
    return f"md5(cast({field} as varchar))"


def date_trunc(part: str, field: str) -> str:
    """DuckDB's date_trunc."""
    return f"date_trunc('{part}', {field})"
