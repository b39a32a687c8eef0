"""Rule preview: the same inputs under two rule sets, compared item by item."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.errors import InputError
from ledger_audit.reconcile.internal import internal_items
from ledger_audit.reconcile.preview import CHANGE_SCHEMA, OUTCOMES, RulePreview, preview_rules
from ledger_audit.sources import load_ledger
from ledger_audit.sources.bank.load import load_statements
from ledger_audit.sources.match_rules import Rail, override_match_rules, read_match_rules
from tests.conftest import PROJECT_ROOT, DemoFactory
from tests.reconcile.helpers import RULES, day, ledger_items, records, tx

DEFAULT_RULES = PROJECT_ROOT / "rules" / "default.toml"

# t1 pairs with r1 by amount (ACH, 5 days later: inside the 0..5 window); t2 has no line;
# r3 has no item
ITEMS = ledger_items(tx("t1", 700, 2, ext="ach-1"), tx("t2", 900, 3))
BANK = records({"amount": 700, "on": 7}, {"amount": 555, "on": 4})


def outcomes(preview: RulePreview) -> list[tuple[object, ...]]:
    return preview.changes.select("outcome", "side", "item_id", "before", "after").rows()


def test_the_same_rules_change_nothing_and_list_what_stays_unmatched() -> None:
    preview = preview_rules(ITEMS, BANK, RULES, RULES, as_of=day(30))
    assert dict(preview.changes.schema) == CHANGE_SCHEMA
    assert outcomes(preview) == [
        ("still unmatched", "external", "r2", "break: missing_internal", "break: missing_internal"),
        (
            "still unmatched",
            "internal",
            "l:t2:0:0",
            "break: missing_external",
            "break: missing_external",
        ),
    ]
    breaks = preview.before.breaks.select("side", "item_id").sort("side", "item_id")
    assert preview.changes.select("side", "item_id").sort("side", "item_id").equals(breaks)
    counts = {(o, s): n for o, s, n in preview.summary.rows()}
    assert counts[("unchanged", "internal")] == counts[("unchanged", "external")] == 1
    assert sum(counts.values()) == ITEMS.height + BANK.height
    assert [o for o, _, _ in preview.summary.rows()][::2] == list(OUTCOMES)


def test_a_narrower_window_loses_the_match_and_a_wider_one_wins_it_back() -> None:
    narrow = dataclasses.replace(RULES, rails=(Rail("ach", 0, 2, external_id_prefixes=("ach-",)),))
    lost = preview_rules(ITEMS, BANK, RULES, narrow, as_of=day(30))
    assert outcomes(lost)[:2] == [
        ("lost", "external", "r1", "auto 2 exact", "break: missing_internal"),
        ("lost", "internal", "l:t1:0:0", "auto 2 exact", "break: missing_external"),
    ]
    row = lost.changes.row(1, named=True)
    assert (row["amount"], row["date"], row["before_with"], row["after_with"]) == (
        700,
        day(2),
        "bank.csv#r1",
        None,
    )
    assert lost.changes["account_id"].to_list() == ["assets:bank"] * 4  # records mapped too
    won = preview_rules(ITEMS, BANK, narrow, RULES, as_of=day(30))
    assert outcomes(won)[:2] == [
        ("new", "external", "r1", "break: missing_internal", "auto 2 exact"),
        ("new", "internal", "l:t1:0:0", "break: missing_external", "auto 2 exact"),
    ]


def test_overrides_merge_into_the_rules_file(tmp_path: Path) -> None:
    base = read_match_rules(DEFAULT_RULES)
    changed = override_match_rules(
        DEFAULT_RULES, '[[rails]]\nname = "ach"\ndays_after = 1\n\n[thresholds]\nauto = 0.95\n'
    )
    ach = {r.name: r for r in changed.rails}["ach"]
    assert (ach.days_before, ach.days_after) == (0, 1)
    assert ach.external_id_prefixes == {r.name: r for r in base.rails}["ach"].external_id_prefixes
    assert changed.thresholds.auto == 0.95
    assert changed.thresholds.suggest == base.thresholds.suggest
    assert changed.accounts == base.accounts
    assert [r.name for r in changed.rails] == [r.name for r in base.rails]
    with pytest.raises(InputError, match="rule overrides: thresholds: need 0 <= suggest"):
        override_match_rules(DEFAULT_RULES, "[thresholds]\nauto = 0.1\n")
    with pytest.raises(InputError, match="rule overrides: not valid TOML"):
        override_match_rules(DEFAULT_RULES, "[thresholds\n")
    with pytest.raises(InputError, match="cannot read the rules file"):
        override_match_rules(tmp_path / "none.toml", "")


def test_a_demo_preview_only_moves_the_planted_suggestion(demo_factory: DemoFactory) -> None:
    demo = demo_factory()
    assert demo.statements is not None
    frames, _ = load_ledger(demo.ledger_path)
    statements = load_statements(demo.statements.statements)
    base = read_match_rules(DEFAULT_RULES)
    auto = override_match_rules(DEFAULT_RULES, "[subset_sum]\nauto_unique = true\n")
    preview = preview_rules(
        internal_items(frames, base), statements.records, base, auto, as_of=day(30)
    )
    changed = preview.changes.filter(pl.col("outcome") == "changed")
    assert set(changed["before"]) == {"suggested 5 subset"}
    assert set(changed["after"]) == {"auto 5 subset"}
    assert changed.height == 3  # two deposits, one bank line
    still = preview.changes.filter(pl.col("outcome") == "still unmatched")
    assert still.height == preview.before.breaks.height == preview.after.breaks.height
    assert preview.changes.filter(pl.col("outcome").is_in(["new", "lost"])).is_empty()
