"""One minimal reproducer per JET rule: the clean month plus one planted transaction (or
the few a rule needs), flagged by that rule and nothing else flagged by it; the clean month
flags nothing at all."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.analytics.jet.engine import RULES, run_jet
from ledger_audit.findings import FINDINGS_SCHEMA
from tests.analytics.jet.ledger import BANK, PARAMS, PERIOD, Tx, clean, frames, move, ns

R0 = "revenue:r0"


def flagged(txs: list[Tx], rule: JetRule, *, skip_seq: int | None = None) -> list[str]:
    result = run_jet(
        frames(txs, skip_seq=skip_seq), PERIOD, PARAMS, rules=(rule,), completeness=False
    )
    assert result.findings.schema == pl.Schema(FINDINGS_SCHEMA)
    assert set(result.findings["rule"]) <= {str(rule)}
    return sorted(set(result.findings["transaction_id"]))


def test_the_clean_month_flags_nothing_and_every_rule_applies() -> None:
    result = run_jet(frames(clean()), PERIOD, PARAMS)
    assert result.findings.is_empty(), result.findings.to_dicts()
    assert result.scores.is_empty()
    assert set(result.coverage["status"]) == {"applied"}
    assert result.coverage["checked"].to_list() == [24] * len(RULES)
    assert result.completeness is not None
    assert result.completeness.rollforward_breaks == 0


def manual(tx_id: str, created: int, amount: int = 2_500, **kw: object) -> Tx:
    return Tx(tx_id, created, move("expenses:adjustments", R0, amount), kind="adjustment", **kw)  # type: ignore[arg-type]


CASES: list[tuple[JetRule, list[Tx], list[str]]] = [
    (JetRule.UNBALANCED, [Tx("p", ns(16), ((BANK, "debit", 1234), (R0, "credit", 1200)))], ["p"]),
    (JetRule.WEEKEND, [manual("p", ns(11))], ["p"]),  # Saturday
    (JetRule.HOLIDAY, [manual("p", ns(1, 11))], ["p"]),  # New Year's Day
    (JetRule.AFTER_HOURS, [manual("p", ns(14, 22))], ["p"]),
    (JetRule.PERIOD_END, [Tx("p", ns(30), move(BANK, R0, 1234))], ["p"]),
    (JetRule.POST_CLOSE, [Tx("p", ns(10, month=2), move(BANK, R0, 1299), effective=ns(20))], ["p"]),
    (JetRule.BACKDATED, [Tx("p", ns(20), move(BANK, R0, 1299), effective=ns(10))], ["p"]),
    (JetRule.FORWARD_DATED, [Tx("p", ns(10), move(BANK, R0, 1299), effective=ns(20))], ["p"]),
    (JetRule.ROUND_AMOUNT, [Tx("p", ns(16), move(BANK, R0, 1_000_000))], ["p"]),
    (
        JetRule.CONSISTENT_ENDINGS,
        [Tx(f"p{i}", ns(9 + i), move(BANK, R0, (i + 1) * 100_000 + 99_900)) for i in range(3)],
        ["p0", "p1", "p2"],
    ),
    (JetRule.JUST_BELOW, [Tx("p", ns(16), move(BANK, R0, 490_000))], ["p"]),
    (
        JetRule.SPLIT_BELOW,
        [manual("p1", ns(16, 9), 300_000), manual("p2", ns(16, 11), 300_000)],
        ["p1", "p2"],
    ),
    (JetRule.SELDOM_ACCOUNT, [Tx("p", ns(16), move(BANK, "revenue:new", 1299))], ["p"]),
    (JetRule.RARE_PAIR, [Tx("p", ns(16), move("revenue:r1", R0, 1299))], ["p"]),
    (JetRule.UNEXPECTED_USER, [Tx("p", ns(16), move(BANK, R0, 1299), actor="mallory")], ["p"]),
    (JetRule.SELF_APPROVAL, [Tx("p", ns(16), move(BANK, R0, 1299), approver="alice")], ["p"]),
    (JetRule.CONCENTRATION, [manual("p", ns(16))], ["p"]),
    (
        JetRule.REVERSAL_AFTER_PERIOD_END,
        [
            Tx("t", ns(30), move(BANK, R0, 5_555)),
            Tx("r", ns(2, month=2), move(R0, BANK, 5_555), kind="reversal", reverses="t"),
        ],
        ["r"],
    ),
    (
        JetRule.DESCRIPTION,
        [Tx("p", ns(16), move(BANK, R0, 1299), description="misc plug")],
        ["p"],
    ),
    (JetRule.DUPLICATE, [Tx("p", ns(3, 12), move(BANK, R0, 1234))], ["p"]),
    (JetRule.OUTLIER, [Tx("p", ns(16), move(BANK, R0, 987_654))], ["p"]),
    (JetRule.MANUAL, [manual("p", ns(16))], ["p"]),
]


@pytest.mark.parametrize(("rule", "planted", "expected"), CASES, ids=[c[0].slug for c in CASES])
def test_a_rule_flags_exactly_what_was_planted(
    rule: JetRule, planted: list[Tx], expected: list[str]
) -> None:
    assert flagged(clean(), rule) == []
    assert flagged(clean() + planted, rule) == expected


def test_a_sequence_gap_flags_the_version_after_it() -> None:
    txs = clean()
    assert flagged(txs, JetRule.SEQUENCE_GAP) == []
    assert flagged(txs, JetRule.SEQUENCE_GAP, skip_seq=5) == [txs[5].transaction_id]


def test_every_rule_has_a_reproducer() -> None:
    assert {c[0] for c in CASES} | {JetRule.SEQUENCE_GAP} == set(JetRule)


@pytest.mark.parametrize(
    "rule",
    [JetRule.WEEKEND, JetRule.HOLIDAY, JetRule.AFTER_HOURS],
)
def test_time_of_day_rules_need_the_entity_time_zone(rule: JetRule) -> None:
    result = run_jet(
        frames([*clean(), manual("p", ns(11))]),
        PERIOD,
        replace(PARAMS, timezone=None),
        rules=(rule,),
        completeness=False,
    )
    (row,) = result.coverage.to_dicts()
    assert row["status"] == "not applicable"
    assert row["checked"] == 0
    assert row["note"].startswith("not applicable: entity time zone absent")
    assert result.findings.is_empty()


@pytest.mark.parametrize(
    "rule", [JetRule.UNEXPECTED_USER, JetRule.SELF_APPROVAL, JetRule.CONCENTRATION]
)
def test_who_rules_without_an_actor_are_not_applicable_never_passed(rule: JetRule) -> None:
    txs = [replace(tx, actor=None, approver=None) for tx in clean()]
    result = run_jet(frames(txs), PERIOD, PARAMS, rules=(rule,), completeness=False)
    (row,) = result.coverage.to_dicts()
    assert (row["status"], row["note"]) == (
        "not applicable",
        "not applicable: actor field absent (metadata key 'actor')",
    )


def test_post_close_without_any_close_is_not_applicable() -> None:
    params = replace(PARAMS, close_at_ns=None)
    result = run_jet(
        frames(clean()), PERIOD, params, rules=(JetRule.POST_CLOSE,), completeness=False
    )
    assert result.coverage["status"].to_list() == ["not applicable"]


def test_the_score_lists_every_contributing_rule() -> None:
    txs = [*clean(), manual("p", ns(11, 22), 490_000, description="plug")]
    result = run_jet(frames(txs), PERIOD, PARAMS, completeness=False)
    row = result.scores.filter(pl.col("transaction_id") == "p").to_dicts()[0]
    rules = set(result.findings.filter(pl.col("transaction_id") == "p")["rule"])
    assert {JetRule.WEEKEND, JetRule.AFTER_HOURS, JetRule.JUST_BELOW, JetRule.DESCRIPTION} <= rules
    assert row["rules"] == len(rules)
    assert [part.split(" ")[0] for part in row["contributions"].split("; ")] == sorted(rules)
    assert 0.0 < row["score"] <= 1.0


def test_a_leg_below_several_thresholds_reports_the_lowest() -> None:
    """The report is the same on every run: ties between a leg's rows are broken by rule."""
    params = replace(PARAMS, thresholds=(5_100, 5_000, 5_050))  # 4,990.00 is below all three
    txs = [*clean(), Tx("p", ns(16), move(BANK, R0, 499_000))]
    for _ in range(5):
        result = run_jet(
            frames(txs), PERIOD, params, rules=(JetRule.JUST_BELOW,), completeness=False
        )
        assert result.findings.get_column("message").to_list() == [
            "amount within 5 % below the threshold 5000"
        ]
