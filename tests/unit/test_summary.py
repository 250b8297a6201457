"""The run's closing summary: the words a person reads after `make run` and in the app."""

from __future__ import annotations

from include.sales_analyzer.summary import money, summary_lines


def test_revenue_at_stake_repairs_and_warnings_one_line_each() -> None:
    report = {
        "quarantine": {
            "lines": 471,
            "revenue": "118431.3312",
            "lines_with_sales": 464,
            "by_reason": {"too_few_fields": 6, "pattern_mismatch": 465},
        },
        "repairs": {"total": 429, "by_rule": {"zip_leading_zero": 429}},
        "warnings": {"total": 43, "by_rule": {"pattern_mismatch": 43}},
    }
    assert summary_lines(report) == [
        "quarantined 471 lines holding $118,431.33 of sales (464 of them with a readable Sales value): "
        "pattern_mismatch 465, too_few_fields 6",
        "repaired 429 values: zip_leading_zero 429",
        "warned on 43 values: pattern_mismatch 43 (kept in silver)",
    ]


def test_nothing_quarantined_and_lines_without_an_amount() -> None:
    assert summary_lines({"quarantine": {"lines": 0, "revenue": "0"}}) == [
        "quarantined 0 lines",
        "repaired 0 values",
        "warned on 0 values",
    ]
    stray = {"quarantine": {"lines": 2, "lines_with_sales": 0, "by_reason": {"too_many_fields": 2}}}
    assert (
        summary_lines(stray)[0] == "quarantined 2 lines, none with a readable Sales value: too_many_fields 2"
    )


def test_money_rounds_half_even_to_the_cent_and_signs_before_the_dollar() -> None:
    assert money("2261536.78") == "$2,261,536.78"
    assert money("0.005") == "$0.00"  # Decimal's default rounding: half to even
    assert money("-3.5") == "-$3.50"
    assert money(None) == "$0.00"
