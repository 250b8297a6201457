"""The contract and the checks derived from it."""

from __future__ import annotations

import pytest
import yaml

from include.sales_analyzer import checks as chk
from include.sales_analyzer.contract import CONTRACTS_DIR, ContractError, contract_from_dict, load_contract
from include.sales_analyzer.dbt_project import SOURCES_YML, render_sources_yml


def test_contract_has_the_18_source_columns_in_order() -> None:
    contract = load_contract()
    assert contract.source_names == [
        "Row ID",
        "Order ID",
        "Order Date",
        "Ship Date",
        "Ship Mode",
        "Customer ID",
        "Customer Name",
        "Segment",
        "Country",
        "City",
        "State",
        "Postal Code",
        "Region",
        "Product ID",
        "Category",
        "Sub-Category",
        "Product Name",
        "Sales",
    ]
    assert contract.key == ("row_id",)
    assert contract.partition_by == ("order_year", "order_month")


def test_silver_types() -> None:
    types = dict(load_contract().silver_columns)
    assert types["row_id"] == "BIGINT"
    assert types["order_date"] == "DATE"
    assert types["sales"] == "DECIMAL(18,4)"
    assert types["postal_code"] == "VARCHAR"
    assert types["order_year"] == "INTEGER"
    assert types["source_line"] == "BIGINT"


def test_domains_match_the_dataset() -> None:
    contract = load_contract()
    assert len(contract.column("sub_category").allowed) == 17
    assert contract.column("region").allowed == ("Central", "East", "South", "West")
    assert contract.column("postal_code").required is False


def test_checks_are_ordered_and_cover_every_rule() -> None:
    checks = chk.record_checks()
    codes = [(c.code, c.column) for c in checks]
    assert codes[0] == ("missing_value", "row_id")
    assert ("ship_date_before_order_date", "ship_date") in codes
    assert ("invalid_decimal", "sales") in codes
    assert codes.index(("invalid_decimal", "sales")) < codes.index(("out_of_range", "sales"))
    assert all(c.expected for c in checks)


@pytest.mark.parametrize(
    ("value", "ok"),
    [("957.5775", True), ("12", True), ("-3.5", True), ("1.23456", False), ("1e5", False), ("abc", False)],
)
def test_decimal_shape(value: str, ok: bool) -> None:
    import re

    assert bool(re.match(chk.decimal_shape(4), value)) is ok


def test_dbt_sources_are_generated_from_the_contract() -> None:
    """The committed _sources.yml is exactly what the contract renders (no drift)."""
    assert SOURCES_YML.read_text() == render_sources_yml()


@pytest.mark.parametrize(
    "repair",
    [
        {"rule": "both", "when": "x", "remove": "x", "left_pad": {"width": 5, "fill": "0"}},
        {"rule": "neither", "when": "x"},
    ],
)
def test_a_repair_is_either_a_left_pad_or_a_removal(repair: dict) -> None:
    raw = yaml.safe_load((CONTRACTS_DIR / "sales.yml").read_text(encoding="utf-8"))
    raw["columns"][0]["repair"] = [repair]
    with pytest.raises(
        ContractError, match=f"row_id: repair '{repair['rule']}' needs one of left_pad and remove"
    ):
        contract_from_dict(raw)


def test_the_money_repair_reads_as_both_engines_render_it() -> None:
    (repair,) = load_contract().column("sales").repair
    assert (repair.rule, repair.remove, repair.width) == ("money_format", "[$,]", 0)
    assert repair.description == f"removed [$,] (value matched {repair.when})"
