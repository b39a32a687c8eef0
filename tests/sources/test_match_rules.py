"""The reconciliation rules reader: the default file, and bad files named by file:line."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ledger_audit.errors import InputError
from ledger_audit.sources.match_rules import (
    BankAccount,
    MatchRules,
    parse_match_rules,
    read_match_rules,
)

DEFAULT = Path(__file__).resolve().parents[2] / "rules" / "default.toml"

GOOD = """\
version = "t1"

[[accounts]]
account_ref = "ACC"
asset_id = "USD/2"
account_id = "assets:bank"

[[rails]]
name = "ach"
external_id_prefixes = ["ach-"]
days_before = 0
days_after = 5

[[rails]]
name = "card"
events = ["card_auth"]
days_before = 0
days_after = 2

[thresholds]
auto = 0.95
suggest = 0.5
"""


def test_default_rules_file_reads_and_fits_the_demo() -> None:
    rules = read_match_rules(DEFAULT)
    assert rules.source == str(DEFAULT)
    assert [r.name for r in rules.all_rails] == ["ach", "sepa", "card", "payout", "fee", "default"]
    assert {a.account_id for a in rules.accounts} == {
        "assets:bank:operating:usd",
        "assets:bank:operating:eur",
        "liabilities:card-network:payable:usd",
        "liabilities:card-network:payable:eur",
    }
    assert {a.account_id for a in rules.accounts if a.processor} == {
        "liabilities:card-network:payable:usd",
        "liabilities:card-network:payable:eur",
    }
    assert rules.subset_sum.auto_unique is False
    assert rules.widest_window == (1, 5)


def test_defaults_fill_what_the_file_leaves_out() -> None:
    rules = parse_match_rules(GOOD, "r.toml")
    assert rules.thresholds.auto == 0.95
    assert rules.thresholds.margin == 0.05
    assert rules.default_rail.days_after == 3
    assert rules.tolerance.absolute == 0
    assert rules.group_metadata_keys == ("payout_id", "batch_id")


def test_rail_recognised_by_prefix_then_event_in_file_order() -> None:
    rules = parse_match_rules(GOOD, "r.toml")
    frame = pl.DataFrame(
        {
            "external_id": ["ach-1", None, "zzz", "ach-2"],
            "event": [None, "card_auth", "deposit", "card_auth"],
        }
    )
    rails = frame.select(rules.rail_expr(pl.col("external_id"), pl.col("event")))["rail"]
    assert rails.to_list() == ["ach", "card", "default", "ach"]


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (("days_after = 5", "days_after = -1"), 12, "rails[0].days_after: must be within 0"),
        (('asset_id = "USD/2"', 'asset_id = "USD"'), 3, "is not CODE/scale"),
        (("auto = 0.95", "auto = 0.4"), 20, "suggest <= auto"),
        (('name = "card"', 'name = "ach"'), 14, "appears twice"),
        (("auto = 0.95", 'auto = "high"'), 21, "thresholds.auto: must be a float"),
        (("suggest = 0.5", "suggets = 0.5"), 22, "unknown key"),
        (('version = "t1"', 'version = "t1"\ncolour = "red"'), 2, "unknown key 'colour'"),
    ],
)
def test_bad_file_names_file_line_and_reason(
    change: tuple[str, str], line: int, reason: str
) -> None:
    text = GOOD.replace(*change, 1)
    with pytest.raises(InputError) as error:
        parse_match_rules(text, "r.toml")
    assert error.value.locator == f"r.toml:{line}"
    assert reason in error.value.reason


def test_not_toml_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not valid TOML"):
        parse_match_rules("version = ", "r.toml")
    with pytest.raises(InputError, match="cannot read"):
        read_match_rules(tmp_path / "missing.toml")


def test_no_accounts_and_twice_mapped_account() -> None:
    with pytest.raises(InputError, match="at least one bank account"):
        parse_match_rules('version = "v"\n', "r.toml")
    with pytest.raises(InputError, match="mapped twice"):
        MatchRules(
            "v",
            (
                BankAccount("A", "USD/2", "assets:bank"),
                BankAccount("B", "USD/2", "assets:bank"),
            ),
        )
