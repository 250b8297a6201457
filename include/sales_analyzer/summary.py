"""The run's closing summary in words: what reached silver, what was repaired, warned or quarantined.

Used by `make run`'s closing lines, the app and the Airflow plugin page, so that every place
states the revenue at stake the same way.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def money(value: Any) -> str:
    """$1,234.56 from a Decimal, a number or its text (None: $0.00)."""
    amount = Decimal(str(value or 0)).quantize(Decimal("0.01"))
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def _by_rule(counts: dict[str, int]) -> str:
    return ", ".join(f"{rule} {n:,}" for rule, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def revenue_at_stake(lines: int, revenue: Any, readable: int | None, lead: str = " ") -> str:
    """What `lines` quarantined lines hold: "<lead>holding $X of sales" (and how many had a
    readable Sales value, when not all), or ", none with a readable Sales value" (no sum to state).
    """
    if readable == 0:
        return ", none with a readable Sales value"
    text = f"{lead}holding {money(revenue)} of sales"
    if readable is not None and readable != lines:
        text += f" ({readable:,} of them with a readable Sales value)"
    return text


def summary_lines(report: dict[str, Any]) -> list[str]:
    """One line each: quarantine (lines and revenue at stake), repairs, warnings.

    `report` is run_report.json: its `quarantine`, `repairs` and `warnings` sections.
    """
    q = report.get("quarantine") or {}
    lines_q = int(q.get("lines") or 0)
    text = f"quarantined {lines_q:,} line{'s' if lines_q != 1 else ''}"
    if lines_q:
        text += revenue_at_stake(lines_q, q.get("revenue"), q.get("lines_with_sales"))
    if lines_q and q.get("by_reason"):
        text += f": {_by_rule(q['by_reason'])}"
    out = [text]
    for key, verb in (("repairs", "repaired"), ("warnings", "warned on")):
        section = report.get(key) or {}
        total = int(section.get("total") or 0)
        line = f"{verb} {total:,} value{'s' if total != 1 else ''}"
        if total and section.get("by_rule"):
            line += f": {_by_rule(section['by_rule'])}"
        if key == "warnings" and total:
            line += " (kept in silver)"
        out.append(line)
    return out
