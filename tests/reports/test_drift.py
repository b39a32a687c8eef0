"""Drift report: ledger vs statement per day, explained by open reconciling items by class."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import default_rules_path
from ledger_audit.errors import InputError
from ledger_audit.reconcile.internal import internal_items
from ledger_audit.reconcile.match import reconcile
from ledger_audit.reports.drift import (
    DAILY_SCHEMA,
    DRIFT_CLASSES,
    DRIFT_STALE_EXTERNAL,
    DRIFT_UNEXPLAINED,
    DriftReport,
    build_drift_report,
)
from ledger_audit.sources import load_ledger
from ledger_audit.sources.bank.load import load_statements
from ledger_audit.sources.match_rules import read_match_rules
from tests.conftest import DemoFactory
from tests.reconcile.helpers import HEADER, tx
from tests.reports.drift_cases import (
    BREAKS,
    RECORDS,
    RULES,
    STATEMENT,
    Match,
    balances,
    day,
    frames,
    match,
    reconciliation,
)
from tests.text_ledger import ledger_from_text

MATCHES = (
    match("key/l:t1:0:0", "auto", [("t1", 10_000)], [("r1", 10_000)]),
    match("key/l:t2:0:0", "auto", [("t2", -4_000)], [("r2", -4_000)]),
)


def build(
    statement: pl.DataFrame | None = None,
    *,
    matches: tuple[Match, ...] = MATCHES,
    last: int = 4,
    materiality: int | dict[str, int] = 0,
    stale_after_days: int = 3,
    records: pl.DataFrame = RECORDS,
) -> DriftReport:
    return build_drift_report(
        frames(),
        balances(*STATEMENT) if statement is None else statement,
        reconciliation(BREAKS, matches),
        RULES,
        records=records,
        first_day=day(0),
        last_day=day(last),
        materiality=materiality,
        stale_after_days=stale_after_days,
    )


def column(report: DriftReport, name: str) -> list[object]:
    return report.daily[name].to_list()


def test_every_difference_a_known_item_leaves_nothing_unexplained() -> None:
    report = build()
    assert dict(report.daily.schema) == DAILY_SCHEMA
    assert column(report, "day") == [day(n) for n in range(5)]
    assert column(report, "ledger") == [10_000, 6_000, 3_000, 3_500, 3_500]
    assert column(report, "external") == [10_000, 10_000, 5_975, 5_975, 5_975]
    assert column(report, "drift") == [0, 4_000, 2_975, 2_475, 2_475]
    # t2 is paid by the bank the day after the ledger books it: timing on day 1 only
    assert column(report, "timing") == [0, 4_000, 0, 0, 0]
    assert column(report, "in_transit") == [0, 0, 3_000, 3_000, 3_000]
    assert column(report, "missing_internal") == [0, 0, -25, -25, -25]
    assert column(report, "missing_external") == [0, 0, 0, -500, -500]
    assert column(report, "explained") == column(report, "drift")
    assert column(report, "unexplained") == [0] * 5
    assert not any(column(report, "material"))
    assert report.findings.is_empty()
    assert report.explained.filter(pl.col("day") == day(3)).select("class", "amount").rows() == [
        ("in_transit", 3_000),
        ("missing_external", -500),
        ("missing_internal", -25),
    ]


def test_drift_is_the_sum_of_the_classes_and_the_remainder() -> None:
    report = build(balances(*STATEMENT[:3], (3, 5_968), (4, 5_968)))
    daily = report.daily
    total = daily.select(pl.sum_horizontal(DRIFT_CLASSES) + pl.col("unexplained")).to_series()
    assert total.to_list() == column(report, "drift")


def test_a_difference_no_item_explains_is_material_from_the_day_it_appears() -> None:
    report = build(balances(*STATEMENT[:3], (3, 5_968), (4, 5_968)))
    assert column(report, "unexplained") == [0, 0, 0, -7, -7]
    assert column(report, "material") == [False, False, False, True, True]
    finding = report.findings.row(0, named=True)
    assert report.findings.height == 1
    assert finding["rule"] == DRIFT_UNEXPLAINED
    assert finding["severity"] == "high"
    assert finding["ledger_id"] == "l"
    assert finding["account_id"] == "assets:bank"
    assert finding["asset_id"] == "USD/2"
    assert finding["locator"] == (
        "drift(account_ref=ACC, asset_id=USD/2, from=2025-01-04, to=2025-01-05)"
    )
    assert finding["message"] == (
        "unexplained drift of -7 USD/2 between the statement of ACC and ledger account "
        "assets:bank from 2025-01-04 to 2025-01-05 (2 day(s)), above the materiality of 0 USD/2"
    )
    assert (finding["expected"], finding["actual"], finding["difference"]) == (
        "|unexplained| <= 0 USD/2",
        "-7 USD/2",
        "-7",
    )


def test_an_unmatched_timing_difference_is_unexplained_on_its_day_only() -> None:
    report = build(matches=MATCHES[:1])
    assert column(report, "unexplained") == [0, 4_000, 0, 0, 0]
    assert report.findings["locator"].to_list() == [
        "drift(account_ref=ACC, asset_id=USD/2, from=2025-01-02, to=2025-01-02)"
    ]


@pytest.mark.parametrize(
    ("materiality", "material"),
    [
        (0, True),
        (6, True),
        (7, False),  # at the threshold is not above it
        ({"assets:bank": 10}, False),
        ({"assets:other": 10}, True),  # an account not named gets 0
    ],
)
def test_materiality_per_account_or_one_default(
    materiality: int | dict[str, int], *, material: bool
) -> None:
    report = build(balances(*STATEMENT[:3], (3, 5_968), (4, 5_968)), materiality=materiality)
    assert column(report, "unexplained")[3] == -7
    assert column(report, "material")[3] is material
    rules = report.findings["rule"].to_list()
    assert rules == ([DRIFT_UNEXPLAINED] if material else [])
    threshold = materiality if isinstance(materiality, int) else materiality.get("assets:bank", 0)
    assert set(column(report, "materiality")) == {threshold}


def test_a_stale_balance_is_carried_and_flagged_and_its_records_wait_for_it() -> None:
    # one closing balance, on day 0: carried to day 4, stale after 2 days
    report = build(balances(STATEMENT[0]), stale_after_days=2)
    assert column(report, "external") == [10_000] * 5
    assert column(report, "external_date") == [day(0)] * 5
    assert column(report, "external_age_days") == [0, 1, 2, 3, 4]
    assert column(report, "stale") == [False, False, False, True, True]
    # the bank's r2 (day 2) and fee r3 (day 2) are not in the day-0 balance: they explain
    # nothing, and t2 stays a timing difference (its bank line is not on the statement held)
    assert column(report, "timing") == [0, 4_000, 4_000, 4_000, 4_000]
    assert column(report, "missing_internal") == [0] * 5
    assert column(report, "unexplained") == [0] * 5
    finding = report.findings.row(0, named=True)
    assert report.findings.height == 1
    assert finding["rule"] == DRIFT_STALE_EXTERNAL
    assert finding["severity"] == "medium"
    assert finding["locator"] == (
        "statement(account_ref=ACC, asset_id=USD/2, from=2025-01-04, to=2025-01-05)"
    )
    assert finding["message"] == (
        "the statement balance of ACC closes 2025-01-01 and is carried from 2025-01-04 to "
        "2025-01-05 (2 day(s)): bank movements since are not in it"
    )
    assert finding["actual"] == "10000 USD/2 closing 2025-01-01"
    assert any("stale days" in text for text in report.coverage.unproven)


def test_no_balance_yet_means_no_drift_and_a_stale_finding() -> None:
    report = build(balances((2, 5_975), (3, 5_975)), stale_after_days=5)
    assert column(report, "external")[:2] == [None, None]
    assert column(report, "drift")[:2] == [None, None]
    assert column(report, "unexplained")[:2] == [None, None]
    assert column(report, "stale") == [True, True, False, False, False]
    assert not any(column(report, "material"))
    assert report.findings["message"].to_list() == [
        (
            "no statement balance of ACC USD/2 on or before any day from 2025-01-01 to "
            "2025-01-02 (2 day(s))"
        ),
    ]


def test_an_opening_balance_closes_the_day_before_and_a_closing_one_wins() -> None:
    opening = balances((1, 10_000), (2, 10_000), (3, 5_975), (4, 1), kind="OPBD")
    closing = balances((3, 5_975))
    report = build(pl.concat([opening, closing]))
    assert column(report, "external_date") == [day(0), day(1), day(2), day(3), day(3)]
    assert column(report, "external") == [10_000, 10_000, 5_975, 5_975, 5_975]
    assert column(report, "unexplained") == [0] * 5


def test_intermediate_and_other_balances_are_not_closing_balances() -> None:
    other = balances(*STATEMENT[:3], (3, 1), kind="CLAV")
    intermediate = balances((4, 2)).with_columns(pl.lit(value=True).alias("intermediate"))
    report = build(pl.concat([balances(*STATEMENT[:3]), other, intermediate]))
    assert column(report, "external") == [10_000, 10_000, 5_975, 5_975, 5_975]
    assert column(report, "external_date")[-1] == day(2)


def test_a_completed_match_with_a_difference_moves_from_timing_to_match_difference() -> None:
    records = RECORDS.with_columns(
        pl.when(pl.col("record_id") == "r2")
        .then(-3_990)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    matches = (MATCHES[0], match("scored/l:t2:0:0", "auto", [("t2", -4_000)], [("r2", -3_990)]))
    statement = balances((0, 10_000), (1, 10_000), (2, 5_985), (3, 5_985), (4, 5_985))
    report = build(statement, matches=matches, records=records)
    assert column(report, "timing") == [0, 4_000, 0, 0, 0]
    assert column(report, "match_difference") == [0, 0, 10, 10, 10]
    assert column(report, "unexplained") == [0] * 5


def test_a_suggested_match_explains_as_suggested() -> None:
    matches = (
        MATCHES[0],
        match("subset/l:t2:0:0", "suggested", [("t2", -4_000)], [("r2", -4_000)]),
    )
    report = build(matches=matches)
    assert column(report, "suggested") == [0, 4_000, 0, 0, 0]
    assert column(report, "timing") == [0] * 5
    assert column(report, "unexplained") == [0] * 5


def test_not_booked_and_unmapped_breaks_explain_nothing() -> None:
    breaks = list(BREAKS)
    pending = dict(breaks[2], item_id="r9", line=9, **{"class": "not_booked"})
    pending["rule"] = "recon.not_booked"
    report = build_drift_report(
        frames(),
        balances(*STATEMENT),
        reconciliation((*BREAKS, pending), MATCHES),
        RULES,
        records=RECORDS,
        first_day=day(0),
        last_day=day(4),
    )
    assert column(report, "unexplained") == [0] * 5


def test_inputs_that_cannot_be_used_are_refused() -> None:
    with pytest.raises(InputError, match="statement balances"):
        build(balances(*STATEMENT).drop("intermediate"))
    with pytest.raises(InputError, match="first_day"):
        build(last=-1)
    with pytest.raises(InputError, match="materiality"):
        build(materiality=-1)
    with pytest.raises(InputError, match="r2 is in neither"):
        build(records=RECORDS.filter(pl.col("record_id") != "r2"))


# --- acceptance on a planted demo ---------------------------------------------------------

CLASS_OF_RULE = {
    "recon.missing_external": "missing_external",
    "recon.missing_internal": "missing_internal",
    "recon.amount_mismatch": "amount_mismatch",
    "recon.duplicate_external": "duplicate",
    "recon.in_transit": "in_transit",
    "recon.suggested_match": "suggested",
}


def test_a_planted_demo_drifts_only_by_its_planted_breaks(demo_factory: DemoFactory) -> None:
    demo = demo_factory(transactions=600, seed=7)
    assert demo.statements is not None
    rules = read_match_rules(default_rules_path())
    frames_, _ = load_ledger(demo.ledger_path)
    parsed = load_statements(demo.statements.statements)
    month = dt.date.fromisoformat(f"{demo.month}-01")
    first = month - dt.timedelta(days=1)  # the demo's opening balances day
    last = (month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    result = reconcile(
        internal_items(frames_, rules), parsed.records, rules, as_of=last + dt.timedelta(days=1)
    )
    report = build_drift_report(
        frames_,
        parsed.balances,
        result,
        rules,
        records=parsed.records,
        first_day=first,
        last_day=last,
    )
    daily = report.daily
    assert daily.height == 2 * ((last - first).days + 1)
    # 1. nothing unexplained, on any day of either account
    assert daily.filter(pl.col("unexplained") != 0).is_empty()
    assert daily["unexplained"].null_count() == 0
    assert report.findings.filter(pl.col("rule") == DRIFT_UNEXPLAINED).is_empty()

    planted = json.loads(Path(demo.statements.recon_key_path).read_text(encoding="utf-8"))
    breaks = result.breaks.with_columns(
        pl.when(pl.col("side") == "external")
        .then(pl.col("amount"))
        .otherwise(-pl.col("amount"))
        .alias("signed")
    )
    for account in daily["account_id"].unique().sort():
        rows = daily.filter(pl.col("account_id") == account).sort("day")
        mine = breaks.filter(pl.col("account_id") == account)
        # 2. on the last day (a closing balance on both statements) each class holds exactly
        # the breaks of that class, and the classes are the ones planted on the account
        final = rows.row(-1, named=True)
        assert not final["stale"]
        planted_classes = {
            CLASS_OF_RULE[p["rule"]] for p in planted if p["account_id"] == account
        } - {"suggested"}
        assert {c for c in DRIFT_CLASSES if final[c]} == planted_classes
        for cls in planted_classes:
            assert final[cls] == mine.filter(pl.col("class") == cls)["signed"].sum()
        # 3. the drift is exactly the planted breaks dated on or before the day: nothing in
        # timing, nothing suggested
        for row in rows.iter_rows(named=True):
            expected = mine.filter(pl.col("date") <= row["day"])["signed"].sum()
            assert row["drift"] == expected, row["day"]
            assert row["timing"] == row["suggested"] == 0
    # 4. both statements state a closing balance every day (BAI2 groups, daily camt.053):
    # nothing is stale, so every day was compared in step 3
    assert report.findings.filter(pl.col("rule") == DRIFT_STALE_EXTERNAL).is_empty()
    assert not daily["stale"].any()


def test_a_ledger_balance_past_int64_is_an_exact_drift() -> None:
    """Each deposit fits int64, the bank account's ledger balance does not."""
    big = 2**63 - 1
    ledger = ledger_from_text("ledger l\n" + HEADER + tx("t1", big, 0) + tx("t2", big, 1))
    report = build_drift_report(
        ledger,
        balances((0, big), (1, big)),
        reconciliation((), ()),
        RULES,
        records=RECORDS.clear(),
        first_day=day(0),
        last_day=day(1),
    )
    assert report.daily.schema == pl.Schema(DAILY_SCHEMA)
    assert column(report, "ledger") == [big, 2 * big]
    assert column(report, "drift") == [0, -big]
    assert column(report, "unexplained") == [0, -big]
