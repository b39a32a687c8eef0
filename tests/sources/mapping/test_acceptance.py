"""Acceptance: the planted demo in three foreign layouts, audited through mappings init wrote.

For each layout (PostgreSQL entries with signed NUMERIC and ``timestamptz``, SQLite transfers
with epoch-ms times, versioned CSV with ISO times) the demo is exported, ``ledger-audit init``
writes the mapping unedited, and the ledger is read through it. Then, against the canonical
demo:

- balances at the month's end are the same (``ledger_audit.replay``);
- the January trial balance is the same on the recorded basis, and on the effective basis
  wherever the layout carries effective times (``ledger_audit.reports``);
- the findings are the same, rule by rule and locator by locator
  (``ledger_audit.checks.runner``), except for the rules whose summary says the mapped
  ledger cannot check them ("no data" or "not proven"); that set is pinned per layout, so a
  rule silently passing for lack of data fails the test.

The sources are named ``demo`` so that init's guess of the ledger id (from the source's
name) is the id the demo's chain sealed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.cli import main
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import LedgerFrames, LoadReport, load_ledger
from ledger_audit.spec import Period, VerifySpec
from ledger_audit.testing.pgserver import DatabaseFactory
from tests.sources.mapping.foreign import (
    Exported,
    export_csv_versioned,
    export_pg_entries,
    export_sqlite_transfers,
)

JANUARY = Period.month("2025-01")
FINDING = ["rule", "severity", "locator"]
NO_SEQ = (r", chain_seq=\d+", "")
"""A chain-less ledger's locators have no chain position; everything else in them must match."""
UNCHECKED = ("no data", "not proven")
RULE_IDS = frozenset(str(rule) for rule in RuleId)

CHAIN_RULES = frozenset(
    {
        "chain.deleted",
        "chain.genesis_mismatch",
        "chain.inserted",
        "chain.meta_tampered",
        "chain.reordered",
        "chain.resealed",
        "chain.rewritten",
        "chain.tampered",
        "chain.truncated",
        "chain.unchained",
    }
)
UNCHECKED_BY_LAYOUT: dict[str, frozenset[str]] = {
    # init cannot know the closed-through instant; the CSV balance columns (dr, cr,
    # hold_dr, hold_cr) are not names init maps, so it leaves [balances] out and says so
    "csv_versioned": frozenset({"period.backdated_into_closed", "balance.drift"}),
    # timestamptz holds microseconds, the demo's chain sealed nanoseconds: no [chain]
    "pg_entries": CHAIN_RULES | {"period.backdated_into_closed"},
    # no chain, balances, idempotency keys or effective times in this layout
    "sqlite_transfers": CHAIN_RULES
    | {"period.backdated_into_closed", "balance.drift", "idempotency.conflict"},
}


@dataclass(frozen=True, slots=True)
class Audited:
    """One ledger read and audited."""

    frames: LedgerFrames
    report: LoadReport
    result: AuditResult


def _audited(frames: LedgerFrames, report: LoadReport) -> Audited:
    return Audited(frames, report, audit(frames, report, VerifySpec(source=report.source)))


@pytest.fixture(scope="module")
def canonical(planted_demo_summary: DemoSummary) -> Audited:
    frames, report = load_ledger(planted_demo_summary.ledger_path)
    return _audited(frames, report)


@pytest.fixture(scope="module")
def pg_demo_url(pg_server: DatabaseFactory) -> Iterator[str]:
    """A database of the module; its name starts with ``demo`` for init's id guess."""
    name = "demo"
    pg_server.drop_database(name)  # a run that was killed may have left it
    url = pg_server.create_database(name)
    yield url
    pg_server.drop_database(name)


Mapped = tuple[Exported, Audited]


@pytest.fixture(scope="module")
def through_init(
    demo_frames: LedgerFrames,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Callable[[str], Mapped]:
    """Export the demo to a layout, run init on it, read and audit it (once per layout)."""
    done: dict[str, Mapped] = {}

    def run(layout: str) -> Mapped:
        if layout not in done:
            out = tmp_path_factory.mktemp(layout)
            exported = _export(layout, demo_frames, out / "source", request)
            done[layout] = (exported, _init_and_audit(exported, out / "init"))
        return done[layout]

    return run


def _export(
    layout: str, frames: LedgerFrames, out: Path, request: pytest.FixtureRequest
) -> Exported:
    if layout == "csv_versioned":
        return export_csv_versioned(frames, out / "demo")
    if layout == "sqlite_transfers":
        return export_sqlite_transfers(frames, out / "demo.sqlite")
    url = str(request.getfixturevalue("pg_demo_url"))
    return export_pg_entries(frames, url, out / "pg")


def _init_and_audit(exported: Exported, out: Path) -> Audited:
    assert main(["init", exported.source, "--out", str(out)]) == 0
    mapping = out / "mapping.toml"
    assert "(none left)" in mapping.read_text(encoding="utf-8")  # nothing to fill in
    frames, report = load_ledger(exported.source, mapping=mapping)
    assert report.rejected == 0, report.rejections
    return _audited(frames, report)


def _findings(result: AuditResult, rules: set[str] | frozenset[str]) -> list[tuple[str, ...]]:
    """(rule, severity, locator) of the findings of ``rules``, chain positions left out."""
    picked = result.findings.filter(pl.col("rule").is_in(sorted(rules)))
    located = picked.select(
        "rule", "severity", pl.col("locator").str.replace_all(*NO_SEQ).alias("locator")
    )
    return sorted(located.rows())


def _statuses(result: AuditResult) -> dict[str, str]:
    return dict(result.summary().select("rule", "status").iter_rows())


PG = pytest.param("pg_entries", marks=pytest.mark.postgres)  # its fixture is taken lazily
LAYOUTS = ["csv_versioned", PG, "sqlite_transfers"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_foreign_layout_audits_like_the_canonical_demo(
    layout: str, canonical: Audited, through_init: Callable[[str], Mapped]
) -> None:
    exported, mapped = through_init(layout)
    end = JANUARY.end_ns
    # a layout without effective times reads them as recorded: the demo's back-dated
    # versions (recorded in February, effective in January) then fall after the month end
    bases = ["recorded"] if "effective_at" in exported.drops else ["recorded", "effective"]
    for basis in bases:
        assert (
            balances_as_of(mapped.frames, end, basis)  # type: ignore[arg-type]
            .collect()
            .equals(balances_as_of(canonical.frames, end, basis).collect())  # type: ignore[arg-type]
        ), basis

    for basis in bases:
        ours = build_trial_balance(mapped.frames, JANUARY, basis)  # type: ignore[arg-type]
        theirs = build_trial_balance(canonical.frames, JANUARY, basis)  # type: ignore[arg-type]
        assert ours.rows.equals(theirs.rows), basis
        assert ours.totals.equals(theirs.totals), basis

    statuses = _statuses(mapped.result)
    unchecked = frozenset(rule for rule, status in statuses.items() if status in UNCHECKED)
    assert unchecked == UNCHECKED_BY_LAYOUT[layout]
    compared = set(RULE_IDS) - unchecked
    assert _findings(mapped.result, compared) == _findings(canonical.result, compared)
    planted = set(canonical.result.findings["rule"]) & compared
    assert planted  # not a vacuous comparison: planted anomalies of checkable rules were found
