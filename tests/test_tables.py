"""Decision tables: rows of input cells and outputs, expanded into first-hit rules."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from conftest import case_dict
from dunning import Portfolio
from policy_helpers import CHANNEL, diagnostics, load, policy_text

AS_OF = datetime(2026, 11, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

TABLE = """\
    - table: ladder
      inputs: [product, dpd, rating]
      outputs: [channel, recipients]
      rows:
        - [-, 0, -, none, []]
        - [mortgage, ">= 91", -, legal_preservation, []]
        - [[consumer_finance, mortgage], 1..7, [D, E], call, [borrower]]
        - [consumer_finance, 1..7, -, sms, [obligors]]
        - [-, -, -, field_visit, [borrower]]"""


def decide(tmp_path: Path, dpd: int, **changes: object) -> object:
    text = policy_text(channel=TABLE).replace("[consumer_finance]", "[consumer_finance, mortgage]")
    policy = load(tmp_path, text)
    snapshot = {"dpd": dpd, "overdue_principal": "100.00", "overdue_interest": "0"}
    data = case_dict(delinquency=snapshot, **changes)
    if data["loan"]["product"] == "mortgage":
        data["loan"]["collateral"] = {"kind": "property", "value": "1.00"}
    return policy.decide(data, as_of=AS_OF, portfolio=Portfolio(0))


def test_rows_decide_first_hit_with_every_kind_of_cell(tmp_path: Path) -> None:
    d = decide(tmp_path, 0)
    assert (d.action.channel, d.rules[0]) == ("none", "ladder/1")  # type: ignore[attr-defined]
    d = decide(tmp_path, 95, loan__product="mortgage")
    assert d.action.channel == "legal_preservation"  # type: ignore[attr-defined]
    d = decide(tmp_path, 3, rating="E")
    assert d.action.channel == "call" and d.action.recipients == ("P-0001",)  # type: ignore[attr-defined]
    d = decide(tmp_path, 3, rating="B")
    assert d.action.channel == "sms" and d.rules[0] == "ladder/4"  # type: ignore[attr-defined]
    d = decide(tmp_path, 3, rating=None)  # a missing rating matches only "-"
    assert d.action.channel == "sms"  # type: ignore[attr-defined]
    assert decide(tmp_path, 40).action.channel == "field_visit"  # type: ignore[attr-defined]


def test_table_cells_use_parameters_and_the_last_row_can_be_the_fallback(tmp_path: Path) -> None:
    head = "params:\n  rate_a: {type: number, default: '0.07'}\n"
    commission = """\
    - table: stage
      inputs: [dpd]
      outputs: [commission_rate]
      rows:
        - [0..90, rate_a]
        - [">= 91", "0.14"]
        - [-, null]"""
    text = policy_text(
        commission=commission, channel=CHANNEL.replace("{channel: call}", "{channel: outsource}")
    ).replace("rules:\n", head + "rules:\n")
    policy = load(tmp_path, text)
    assert policy.warnings == ()
    snapshot = {"dpd": 95, "overdue_principal": "100.00", "overdue_interest": "0"}
    d = policy.decide(case_dict(delinquency=snapshot), as_of=AS_OF)
    assert d.fee_terms.commission_rate == Decimal("0.14") and d.rules[-1] == "stage/2"


def test_table_errors_point_at_the_row(tmp_path: Path) -> None:
    bad = TABLE.replace(
        "[consumer_finance, 1..7, -, sms, [obligors]]", "[consumer_finance, 1..7, sms, [obligors]]"
    )
    text = policy_text(channel=bad)
    found = diagnostics(tmp_path, text)
    assert [d.code for d in found] == ["bad-value"]
    assert "row 4 of table 'ladder' needs 3 input and 2 output cells, has 4" in found[0].message
    assert (
        found[0].line
        == text.splitlines().index("        - [consumer_finance, 1..7, sms, [obligors]]") + 1
    )
    wrong_type = TABLE.replace('">= 91"', '"== x"')
    found = diagnostics(tmp_path, policy_text(channel=wrong_type))
    assert [d.code for d in found] == ["unknown-fact"]
    assert found[0].rule_id == "ladder/2"
    unknown_output = TABLE.replace(
        "outputs: [channel, recipients]", "outputs: [chanel, recipients]"
    )
    found = diagnostics(tmp_path, policy_text(channel=unknown_output))
    assert found[0].code == "unknown-key" and "did you mean 'channel'" in found[0].message


def test_fees_table(tmp_path: Path) -> None:
    fees = """\
    - table: fee
      inputs: [dpd]
      outputs: [collection_fee]
      rows:
        - [">= 31", "25.00"]
        - [-, 0]"""
    # The collection_fees guard (cn) would cut the fee, and the charges cap a fee large against
    # the overdue principal: this test is about the table.
    policy = load(tmp_path, policy_text(fees=fees) + "  collection_fees: off\n")
    snapshot = {"dpd": 40, "overdue_principal": "10000.00", "overdue_interest": "0"}
    d = policy.decide(case_dict(delinquency=snapshot), as_of=AS_OF)
    assert d.fee_terms.collection_fee == Decimal("25.00")
