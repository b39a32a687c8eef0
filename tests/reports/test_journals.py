"""Summary journals: rollup through the mapping, suspense, chunking, ids, drill-down, tie-out."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.errors import InputError
from ledger_audit.replay.key_order import rows_in_key_order
from ledger_audit.reports.gl_mapping import apply_mapping
from ledger_audit.reports.journals import (
    DRILLDOWN_COLUMNS,
    ERP_TIEOUT_BROKEN,
    ERP_UNMAPPED_ACCOUNT,
    SummaryJournals,
    build_summary_journals,
    line_columns,
)
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import load_ledger
from ledger_audit.sources.gl_mapping import RESERVED_COLUMNS, GlMapping, GlRule, read_gl_mapping
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.spill import spill_area
from ledger_audit.spec import Period
from tests.conftest import DemoFactory
from tests.text_ledger import ledger_from_text

JANUARY = Period.month("2025-01")
DEMO_MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "demo.toml"

MAPPING = GlMapping(
    version="v1",
    suspense_account="9990",
    clearing_account="9995",
    dimensions=("department",),
    rules=(
        GlRule("assets:bank", "1010", ("treasury",)),
        GlRule("assets:cash:*", "1030", ("treasury",)),
        GlRule("liabilities:wallet:*", "2010", ("wallets",)),
        GlRule("revenue:*", "4010", ("revenue",)),
        GlRule("equity:*", "3900", (None,)),
    ),
)

# times are seconds after 2025-01-01T00:00Z: 3600 is day 1, 90000 day 2
LEDGER = """
ledger l
account assets:bank debit USD/2
account assets:cash:jpy debit JPY/0
account liabilities:wallet:a credit USD/2
account liabilities:wallet:b credit USD/2
account revenue:fees credit USD/2
account equity:conversion credit *
account other:mystery debit USD/2
tx t0 opening posted at=-100
  assets:bank debit 1000 USD/2
  liabilities:wallet:a credit 1000 USD/2
tx t1 standard posted at=3600
  liabilities:wallet:a debit 250 USD/2
  liabilities:wallet:b credit 250 USD/2
tx t2 standard posted at=7200
  liabilities:wallet:a debit 30 USD/2
  revenue:fees credit 30 USD/2
tx t3 standard posted at=90000
  liabilities:wallet:b debit 100 USD/2
  equity:conversion credit 100 USD/2
  assets:cash:jpy debit 15000 JPY/0
  equity:conversion credit 15000 JPY/0
tx t4 standard posted at=90500
  other:mystery debit 12 USD/2
  assets:bank credit 12 USD/2
tx t5 pending pending at=95000
  liabilities:wallet:a debit 40 USD/2
  assets:bank credit 40 USD/2
"""

UNMAPPED_MESSAGE = (
    "ledger account other:mystery matches no rule of GL mapping v1: its USD/2 movement "
    "(debits 12, credits 0 minor units) went to suspense GL account 9990"
)


def journal_lines(journals: SummaryJournals) -> list[tuple[object, ...]]:
    return journals.lines.select(
        "journal_date",
        "asset_id",
        "chunk",
        "line_no",
        "gl_account",
        "department",
        "debit",
        "credit",
    ).rows()


def assert_sound(journals: SummaryJournals) -> None:
    """Every chunk fits and balances, clearing nets out, the drill-down covers every line."""
    assert journals.balanced
    assert journals.ties_out
    assert (journals.totals["lines"] <= journals.max_lines).all()
    lines = journals.lines
    assert lines["line_id"].n_unique() == lines.height
    assert ((lines["debit"] == 0) != (lines["credit"] == 0)).all()  # gross: one side each
    clearing = (
        lines.filter(pl.col("line_kind") == "clearing")
        .group_by("ledger_id", "journal_date", "asset_id")
        .agg((pl.col("debit") - pl.col("credit")).sum().alias("net"))
    )
    assert (clearing["net"] == 0).all()
    drill = journals.drilldown
    assert drill.columns == list(DRILLDOWN_COLUMNS)
    assert drill["line_id"].null_count() == 0
    summed = drill.group_by("line_id").agg(pl.col("debit").sum(), pl.col("credit").sum())
    expected = lines.filter(pl.col("line_kind") != "clearing").select("line_id", "debit", "credit")
    assert summed.sort("line_id").equals(expected.sort("line_id"))


def test_month_journals_roll_up_per_gl_account_dimensions_and_side() -> None:
    journals = build_summary_journals(ledger_from_text(LEDGER), MAPPING, JANUARY)
    end = date(2025, 1, 31)
    assert journal_lines(journals) == [
        (end, "JPY/0", 0, 1, "1030", "treasury", 15000, 0),
        (end, "JPY/0", 0, 2, "3900", None, 0, 15000),
        (end, "USD/2", 0, 1, "1010", "treasury", 0, 12),
        (end, "USD/2", 0, 2, "2010", "wallets", 0, 250),
        (end, "USD/2", 0, 3, "2010", "wallets", 380, 0),
        (end, "USD/2", 0, 4, "3900", None, 0, 100),
        (end, "USD/2", 0, 5, "4010", "revenue", 0, 30),
        (end, "USD/2", 0, 6, "9990", None, 12, 0),  # the unmapped other:mystery
    ]
    assert journals.lines.columns == list(line_columns(("department",)))
    assert journals.totals.select("asset_id", "lines", "debits", "credits").rows() == [
        ("JPY/0", 2, 15000, 15000),
        ("USD/2", 6, 392, 392),
    ]
    assert_sound(journals)


def test_drilldown_names_the_entries_of_each_line() -> None:
    journals = build_summary_journals(ledger_from_text(LEDGER), MAPPING, JANUARY)
    lines = journals.lines.select("line_id", "gl_account", "asset_id", "debit")
    drill = journals.drilldown.join(lines, on=["line_id", "asset_id"]).filter(
        (pl.col("gl_account") == "2010") & (pl.col("asset_id") == "USD/2")
    )
    assert drill.sort("transaction_id", "entry_index").select(
        "transaction_id", "version", "entry_index", "account_id", "movement", "debit_right"
    ).rows() == [
        ("t1", 0, 0, "liabilities:wallet:a", 1, 380),
        ("t1", 0, 1, "liabilities:wallet:b", 1, 0),
        ("t2", 0, 0, "liabilities:wallet:a", 1, 380),
        ("t3", 0, 0, "liabilities:wallet:b", 1, 380),
    ]


def test_day_journals_are_dated_by_the_movement() -> None:
    journals = build_summary_journals(ledger_from_text(LEDGER), MAPPING, JANUARY, "day")
    day1, day2 = date(2025, 1, 1), date(2025, 1, 2)
    assert journal_lines(journals) == [
        (day1, "USD/2", 0, 1, "2010", "wallets", 0, 250),
        (day1, "USD/2", 0, 2, "2010", "wallets", 280, 0),
        (day1, "USD/2", 0, 3, "4010", "revenue", 0, 30),
        (day2, "JPY/0", 0, 1, "1030", "treasury", 15000, 0),
        (day2, "JPY/0", 0, 2, "3900", None, 0, 15000),
        (day2, "USD/2", 0, 1, "1010", "treasury", 0, 12),
        (day2, "USD/2", 0, 2, "2010", "wallets", 100, 0),
        (day2, "USD/2", 0, 3, "3900", None, 0, 100),
        (day2, "USD/2", 0, 4, "9990", None, 12, 0),
    ]
    assert_sound(journals)


def test_unmapped_activity_goes_to_suspense_with_a_finding() -> None:
    journals = build_summary_journals(ledger_from_text(LEDGER), MAPPING, JANUARY)
    suspense = journals.lines.filter(pl.col("line_kind") == "suspense")
    assert suspense.select("gl_account", "debit", "credit", "entry_count").rows() == [
        ("9990", 12, 0, 1)
    ]
    findings = journals.findings
    assert findings.select("rule", "severity", "check", "locator", "message").rows() == [
        (
            ERP_UNMAPPED_ACCOUNT,
            "high",
            "erp_rollup",
            "accounts(ledger_id=l, account_id=other:mystery, asset_id=USD/2)",
            UNMAPPED_MESSAGE,
        )
    ]
    assert findings.select("expected", "actual", "difference").row(0) == (
        "a GL account from a mapping rule",
        "suspense GL account 9990",
        "12 USD/2",
    )
    assert journals.tieout.filter(pl.col("gl_account") == "9990").select(
        "journal_net", "trial_balance_net", "difference"
    ).rows() == [(12, 12, 0)]


def test_pending_and_other_periods_stay_out() -> None:
    journals = build_summary_journals(ledger_from_text(LEDGER), MAPPING, JANUARY)
    assert set(journals.drilldown["transaction_id"]) == {"t1", "t2", "t3", "t4"}
    assert (
        build_summary_journals(
            ledger_from_text(LEDGER), MAPPING, Period.month("2025-02")
        ).lines.height
        == 0
    )


def test_superseded_posting_moves_back() -> None:
    frames = ledger_from_text(
        """
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2
tx t9 standard posted at=-50
  assets:bank debit 70 USD/2
  liabilities:wallet:a credit 70 USD/2
tx t9/1 standard archived at=4000
  assets:bank debit 70 USD/2
  liabilities:wallet:a credit 70 USD/2
"""
    )
    journals = build_summary_journals(frames, MAPPING, JANUARY)
    assert journals.lines.select("gl_account", "debit", "credit").rows() == [
        ("1010", 0, 70),
        ("2010", 70, 0),
    ]
    assert journals.drilldown.select("transaction_id", "version", "movement").rows() == [
        ("t9", 0, -1),
        ("t9", 0, -1),
    ]
    assert_sound(journals)


def test_chunks_balance_with_clearing_lines() -> None:
    journals = build_summary_journals(ledger_from_text(LEDGER), MAPPING, JANUARY, max_lines=3)
    usd = journals.lines.filter(pl.col("asset_id") == "USD/2")
    assert usd.select("chunk", "chunks", "line_no", "gl_account", "debit", "credit").rows() == [
        (0, 3, 1, "1010", 0, 12),
        (0, 3, 2, "2010", 0, 250),
        (0, 3, 3, "9995", 262, 0),
        (1, 3, 1, "2010", 380, 0),
        (1, 3, 2, "3900", 0, 100),
        (1, 3, 3, "9995", 0, 280),
        (2, 3, 1, "4010", 0, 30),
        (2, 3, 2, "9990", 12, 0),
        (2, 3, 3, "9995", 18, 0),
    ]
    assert usd["journal_id"].n_unique() == 3
    assert journals.lines.filter(pl.col("asset_id") == "JPY/0")["chunks"].to_list() == [1, 1]
    assert_sound(journals)


@pytest.mark.parametrize("max_lines", [2, 4, 5, 6])
def test_every_chunking_is_sound(max_lines: int) -> None:
    for granularity in ("day", "month"):
        journals = build_summary_journals(
            ledger_from_text(LEDGER), MAPPING, JANUARY, granularity, max_lines=max_lines
        )
        assert_sound(journals)


def test_ids_are_deterministic_and_keyed_by_what_the_journal_is() -> None:
    frames = ledger_from_text(LEDGER)
    first = build_summary_journals(frames, MAPPING, JANUARY)
    again = build_summary_journals(ledger_from_text(LEDGER), MAPPING, JANUARY)
    for name in ("lines", "drilldown", "totals", "tieout", "findings"):
        assert getattr(first, name).equals(getattr(again, name)), name
    assert all(re.fullmatch(r"LA-[0-9a-f]{16}", i) for i in first.lines["journal_id"])
    assert first.lines["line_id"][0] == f"{first.lines['journal_id'][0]}-00001"
    ids = set(first.totals["journal_id"])
    changed_amounts = build_summary_journals(
        ledger_from_text(LEDGER.replace("30 USD/2", "31 USD/2")), MAPPING, JANUARY
    )
    assert set(changed_amounts.totals["journal_id"]) == ids  # a re-import updates, not doubles
    new_version = GlMapping(
        version="v2",
        suspense_account=MAPPING.suspense_account,
        clearing_account=MAPPING.clearing_account,
        dimensions=MAPPING.dimensions,
        rules=MAPPING.rules,
    )
    assert not ids & set(build_summary_journals(frames, new_version, JANUARY).totals["journal_id"])
    assert not ids & set(
        build_summary_journals(frames, MAPPING, JANUARY, "day").totals["journal_id"]
    )


def test_bad_parameters() -> None:
    frames = ledger_from_text(LEDGER)
    with pytest.raises(InputError, match="max_lines: expected an integer of at least 2, got 1"):
        build_summary_journals(frames, MAPPING, JANUARY, max_lines=1)
    with pytest.raises(InputError, match="trial_balance: is for 2025-02"):
        build_summary_journals(
            frames,
            MAPPING,
            JANUARY,
            trial_balance=build_trial_balance(frames, Period.month("2025-02")),
        )


def test_prebuilt_trial_balance_gives_the_same_tieout() -> None:
    frames = ledger_from_text(LEDGER)
    tb = build_trial_balance(frames, JANUARY)
    assert build_summary_journals(frames, MAPPING, JANUARY, trial_balance=tb).tieout.equals(
        build_summary_journals(frames, MAPPING, JANUARY).tieout
    )


def test_a_trial_balance_of_other_movement_breaks_the_tieout() -> None:
    """erp.tieout_broken: the trial balance of another ledger state (t2 missing) cannot be
    the journals' tie-out; the finding names the GL account and the difference."""
    frames = ledger_from_text(LEDGER)
    fewer = ledger_from_text(
        LEDGER.replace(
            "tx t2 standard posted at=7200\n"
            "  liabilities:wallet:a debit 30 USD/2\n"
            "  revenue:fees credit 30 USD/2\n",
            "",
        )
    )
    journals = build_summary_journals(
        frames, MAPPING, JANUARY, trial_balance=build_trial_balance(fewer, JANUARY)
    )
    assert journals.balanced
    assert not journals.ties_out
    broken = journals.findings.filter(pl.col("rule") == ERP_TIEOUT_BROKEN.value)
    assert broken.select("severity", "locator", "expected", "actual", "difference").rows() == [
        ("critical", "tieout(gl_account=2010, asset_id=USD/2)", "100", "130", "30 USD/2"),
        ("critical", "tieout(gl_account=4010, asset_id=USD/2)", "0", "-30", "-30 USD/2"),
    ]
    assert (
        build_summary_journals(frames, MAPPING, JANUARY)
        .findings.filter(pl.col("rule") == ERP_TIEOUT_BROKEN.value)
        .is_empty()
    )


def test_report_columns_are_reserved_from_dimensions() -> None:
    journals = build_summary_journals(ledger_from_text(LEDGER), MAPPING, JANUARY)
    for frame in (journals.lines, journals.drilldown, journals.totals, journals.tieout):
        assert set(frame.columns) - {"department", "lines"} <= RESERVED_COLUMNS


@pytest.mark.parametrize("granularity", ["day", "month"])
def test_demo_rolls_up_clean(demo_factory: DemoFactory, granularity: str) -> None:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    mapping = read_gl_mapping(DEMO_MAPPING)
    journals = build_summary_journals(
        frames, mapping, JANUARY, "day" if granularity == "day" else "month"
    )
    assert journals.findings.height == 0
    assert journals.lines.filter(pl.col("line_kind") == "suspense").height == 0
    assert_sound(journals)
    # every account with movement is mapped by a rule
    tb = build_trial_balance(frames, JANUARY)
    mapped = apply_mapping(tb.rows.lazy(), mapping).collect()
    assert mapped["rule_index"].null_count() == 0
    chunked = build_summary_journals(frames, mapping, JANUARY, "month", max_lines=4)
    assert_sound(chunked)


# --- property: random text ledgers ----------------------------------------------------------

DAY = 86_400
ACCOUNTS = {
    "assets:bank": "debit",
    "assets:cash:jpy": "debit",
    "liabilities:wallet:a": "credit",
    "liabilities:wallet:b": "credit",
    "revenue:fees": "credit",
    "other:mystery": "debit",  # unmapped
}
PROPERTY_PERIOD = Period("p", JANUARY.start_ns + DAY * 10**9, JANUARY.start_ns + 4 * DAY * 10**9)


@st.composite
def text_ledgers(draw: st.DrawFn) -> str:
    lines = [f"account {a} {n} *" for a, n in ACCOUNTS.items()]
    moment = st.integers(0, 5 * DAY)
    for n in range(draw(st.integers(0, 10))):
        legs = []
        for _ in range(draw(st.integers(1, 2))):
            debit, credit = draw(st.permutations(list(ACCOUNTS)))[:2]
            asset = draw(st.sampled_from(["USD/2", "JPY/0"]))
            amount = draw(st.integers(1, 1000))
            legs += [f"  {debit} debit {amount} {asset}", f"  {credit} credit {amount} {asset}"]
        shape = draw(st.sampled_from(["post", "hold", "capture", "void", "supersede"]))
        t0, t1 = draw(moment), draw(moment)
        if shape == "post":
            lines += [f"tx t{n} standard posted at={t0}", *legs]
        elif shape == "supersede":
            lines += [f"tx t{n} standard posted at={t0}", *legs]
            lines += [f"tx t{n}/1 standard archived at={t1}", *legs]
        else:
            lines += [f"tx t{n} pending pending at={t0}", *legs]
            if shape == "capture":
                lines += [f"tx t{n}/1 post_pending posted at={t1}", *legs]
            elif shape == "void":
                lines += [f"tx t{n}/1 void_pending archived at={t1}", *legs]
    return "\n".join(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=text_ledgers(),
    granularity=st.sampled_from(["day", "month"]),
    max_lines=st.integers(2, 6),
    basis=st.sampled_from(["effective", "recorded"]),
)
def test_random_ledgers_balance_and_tie_out(
    text: str, granularity: str, max_lines: int, basis: str
) -> None:
    frames = ledger_from_text(text)
    journals = build_summary_journals(
        frames,
        MAPPING,
        PROPERTY_PERIOD,
        "day" if granularity == "day" else "month",
        basis="recorded" if basis == "recorded" else "effective",
        max_lines=max_lines,
    )
    assert_sound(journals)
    tb = journals.tieout.filter(pl.col("gl_account") == "9990")
    unmapped = journals.findings.height
    assert (
        unmapped
        == journals.drilldown.filter(pl.col("account_id") == "other:mystery")
        .select("asset_id")
        .n_unique()
    )
    if unmapped == 0:  # suspense may hold an opening balance, but no movement
        assert (tb["trial_balance_net"] == 0).all()


def test_journals_and_trial_balance_past_int64_are_exact() -> None:
    """Each entry fits int64; a month's movement of one GL account does not."""
    big = 2**63 - 1
    text = "\n".join(
        [
            "ledger l",
            "account assets:bank debit USD/2",
            "account liabilities:wallet:a credit USD/2",
            *(
                f"tx t{i} standard posted at={3600 * (i + 1)}\n"
                f"  assets:bank debit {big} USD/2\n"
                f"  liabilities:wallet:a credit {big} USD/2"
                for i in range(3)
            ),
        ]
    )
    frames = ledger_from_text(text)
    journals = build_summary_journals(frames, MAPPING, JANUARY)
    assert_sound(journals)
    lines = {r["gl_account"]: r for r in journals.lines.iter_rows(named=True)}
    assert lines["1010"]["debit"] == 3 * big
    assert lines["2010"]["credit"] == 3 * big
    trial = build_trial_balance(frames, JANUARY)
    assert trial.balanced
    assert sorted(trial.rows["debits"].to_list() + trial.rows["credits"].to_list()) == [
        0,
        0,
        3 * big,
        3 * big,
    ]


def test_inside_a_spill_area_the_events_and_drilldown_leave_the_heap(tmp_path: Path) -> None:
    """In a close the entry movements and the drill-down (0.3 GiB each at 1M) are moved to
    mapped files as they are made; the journals are the same."""
    ledger = ledger_from_text(LEDGER)
    trial_balance = build_trial_balance(ledger, JANUARY)
    outside = build_summary_journals(ledger, MAPPING, JANUARY, trial_balance=trial_balance)
    with spill_area(tmp_path, min_bytes=0) as spill:
        assert spill is not None
        inside = build_summary_journals(ledger, MAPPING, JANUARY, trial_balance=trial_balance)
        assert spill.frames == 3  # the events, the joined drill-down, then it sorted
        assert spill.moved(inside.drilldown)
    order = ["line_id", "transaction_id", "version", "entry_index", "movement"]
    assert inside.drilldown.equals(inside.drilldown.sort(order))
    assert inside.findings.height > 0  # the unmapped account, read from the moved events
    for name in ("lines", "drilldown", "totals", "tieout", "findings"):
        assert getattr(inside, name).equals(getattr(outside, name)), name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=text_ledgers(), seed=st.integers(0, 2**16), max_lines=st.integers(2, 6))
def test_the_drilldown_orders_stored_and_shuffled_entries_alike(
    text: str, seed: int, max_lines: int
) -> None:
    """Entries in key order sort the drill-down by their row number, others by their key's
    text: the same rows in the same order."""
    frames = ledger_from_text(text)
    tables = dict(frames.items())
    stored = tables["entries"].sort("ledger_id", "transaction_id", "version", "entry_index")
    assert rows_in_key_order(stored, ("ledger_id", "transaction_id", "version", "entry_index"))
    shuffled = stored.sample(fraction=1.0, shuffle=True, seed=seed)
    made = [
        build_summary_journals(
            LedgerFrames.from_tables({**tables, "entries": entries}),
            MAPPING,
            PROPERTY_PERIOD,
            max_lines=max_lines,
        )
        for entries in (stored, shuffled)
    ]
    assert made[0].drilldown.equals(made[1].drilldown)
    assert made[0].lines.equals(made[1].lines)
    assert made[0].totals.equals(made[1].totals)


def test_an_entry_that_starts_and_stops_in_one_line_starts_last() -> None:
    """A zero amount (reported by the audit, still loaded) nets to zero both ways, so its
    start and its stop share a credit line: the stop (-1) comes first, as in the key order
    of the text (entries stored in key order or not)."""
    text = """account assets:bank debit *
account revenue:fees credit *
tx t0 standard posted at=900000
  assets:bank debit 0 USD/2
  revenue:fees credit 0 USD/2
tx t0/1 standard archived at=950000
  assets:bank debit 0 USD/2
  revenue:fees credit 0 USD/2"""
    frames = ledger_from_text(text)
    tables = dict(frames.items())
    for entries in (tables["entries"], tables["entries"].reverse()):
        with_entries = LedgerFrames.from_tables({**tables, "entries": entries})
        drill = build_summary_journals(with_entries, MAPPING, JANUARY).drilldown
        bank = drill.filter(pl.col("account_id") == "assets:bank")
        assert bank.select("version", "entry_index", "movement").rows() == [(0, 0, -1), (0, 0, 1)]
