"""The close's "Journal-entry testing and analytics" section and its tables.

Tables (workpaper sheets and ``tables/``): ``JET scores`` (one row per flagged transaction,
highest first), ``JET coverage`` (one row per rule: applied or not applicable and why),
``Idempotency`` (every submission's class), ``Pending at period end`` (every pending
transaction x asset, aged at the period's last instant) and ``Reversals`` (every reversal
pair); the tester-facing ones end in empty ``tester_result`` and ``tester_note`` columns.
``JET findings`` (every flag, the findings schema) is CSV and Parquet only.

The section states the population's completeness before any result, then the counts per
rule, the top-scored transactions and the analytics' headline figures, amounts in their
currency (``money.format_money``).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from ledger_audit.analytics.pending import DEFAULT_TIMEOUT_NS
from ledger_audit.close.analytics import CloseAnalytics
from ledger_audit.exports.html_report import Section
from ledger_audit.exports.tables import Table
from ledger_audit.money import format_money
from ledger_audit.replay.balances import SUM_AMOUNT
from ledger_audit.reports.trial_balance import asset_scale

HEADING = "Journal-entry testing and analytics"
TESTER_COLUMNS = ("tester_result", "tester_note")
"""Empty columns after a tester-facing table's own, for the tester to fill in."""

TOP_ROWS = 10
"""Top-scored transactions the report shows; the rest are in the workpaper and tables/."""

_DAY_NS = 86_400 * 1_000_000_000
_CLASSES = (
    "unique",
    "original",
    "benign_replay",
    "conflicting_replay",
    "double_submit",
    "no_key",
)


def _for_tester(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.String()).alias(c) for c in TESTER_COLUMNS)


def _iso(column: str, alias: str) -> pl.Expr:
    """Epoch ns as UTC text to the second (a reader's time; the ns stay in the ledger)."""
    return (
        pl.from_epoch(pl.col(column), time_unit="ns").dt.strftime("%Y-%m-%dT%H:%M:%SZ").alias(alias)
    )


def analytics_tables(analytics: CloseAnalytics) -> tuple[tuple[Table, ...], tuple[Table, ...]]:
    """(workpaper sheets, data-only tables) of the section (see the module docstring)."""
    jet = analytics.jet
    pending = analytics.pending.items.select(
        "ledger_id",
        "transaction_id",
        "asset_id",
        pl.col("amount").cast(SUM_AMOUNT),
        asset_scale(pl.col("asset_id")).alias("scale"),
        _iso("created_ns", "created_at"),
        _iso("resolved_ns", "resolved_at"),
        "resolution",
        pl.col("open_at_as_of").alias("open_at_period_end"),
        pl.when(pl.col("open_at_as_of")).then(pl.col("age_ns") // _DAY_NS).alias("age_days"),
        "age_bucket",
        "past_timeout",
        "cutoff_exposure",
    )
    idempotency = analytics.idempotency.classified.select(
        "ledger_id",
        "transaction_id",
        "idempotency_key",
        _iso("recorded_ns", "recorded_at"),
        "class",
        "related_transaction_id",
    )
    reversals = analytics.reversals.pairs.select(
        "ledger_id",
        "transaction_id",
        "kind",
        "original_id",
        "original_kind",
        "pairing",
        "linked",
        _iso("effective_ns", "effective_at"),
        _iso("original_effective_ns", "original_effective_at"),
        (pl.col("lag_ns") // 1_000_000_000).alias("lag_seconds"),
        "crosses_period_end",
        "of_reversal",
    )
    sheets = (
        Table(
            "JET scores",
            _for_tester(jet.scores),
            note=(
                "score = sum(w*s)/sum(w) over the rules a transaction triggered (w the rule's "
                "weight, s its strongest flag's strength); high from 0.6, medium from 0.3."
            ),
        ),
        Table("JET coverage", jet.coverage),
        Table("Idempotency", _for_tester(idempotency)),
        Table("Pending at period end", _for_tester(pending), ("amount",)),
        Table("Reversals", _for_tester(reversals)),
    )
    return sheets, (Table("JET findings", jet.findings),)


def analytics_section(
    analytics: CloseAnalytics | None, named: Callable[[str], Table], jet_rules: str | None
) -> Section:
    """The report's section; ``named`` finds a close table by name."""
    if analytics is None:
        return Section(HEADING, paragraphs=("The analytics stage did not run.",))
    jet = analytics.jet
    proof = jet.completeness
    statements = proof.statements if proof is not None else ("completeness not checked",)
    rules = jet.coverage
    applied = rules.filter(pl.col("status") == "applied").height
    bands = dict(jet.scores["band"].value_counts().iter_rows()) if jet.scores.height else {}
    coverage = named("JET coverage")
    scores = named("JET scores")
    shown_rules = Table(
        "JET rules",
        coverage.frame.select("code", "rule", "status", "flagged", "weight", "note"),
        full=coverage.name,
    )
    top = Table(
        "Top-scored transactions",
        scores.frame.select(
            "transaction_id",
            "chain_seq",
            pl.col("score").round(3),
            "band",
            "rules",
            "contributions",
        ),
        note=scores.note,
        limit=TOP_ROWS,
        full=scores.name,
    )
    return Section(
        HEADING,
        paragraphs=(
            "Population completeness, stated before any result: " + "; ".join(statements) + ".",
            (
                f"Journal-entry tests over the {jet.population:,} transactions of "
                f"{jet.period.label} (parameters: {jet_rules or 'the built-in defaults'}): "
                f"{applied} of {rules.height} rules applied; a rule whose field the source "
                "lacks is not applicable, with the reason, never a pass. "
                f"{jet.scores.height:,} transaction(s) scored: {bands.get('high', 0):,} high, "
                f"{bands.get('medium', 0):,} medium, {bands.get('low', 0):,} low."
            ),
            (
                "These flags are risk indicators for a tester, not exceptions: they are kept "
                "out of the close's findings, its severity counts and its verdict, and listed "
                "here, in the workpaper's JET and analytics sheets (tester_result and "
                "tester_note columns to fill in) and in tables/jet_scores, jet_coverage, "
                "jet_findings, idempotency, pending_at_period_end and reversals."
            ),
        ),
        tables=(
            shown_rules,
            top,
            Table(
                "Analytics at a glance",
                headline_figures(analytics),
                note=(
                    "Idempotency and reversals over every transaction read; pending aged at "
                    "the period's last instant. Amounts in their currency, per currency."
                ),
            ),
        ),
    )


def _amounts(items: pl.DataFrame) -> str:
    """``n: 1,234.50 USD; 10.00 EUR`` (summed per asset, never across assets)."""
    per = (
        items.filter(pl.col("asset_id").is_not_null())
        .group_by("asset_id")
        .agg(pl.col("amount").sum())
        .sort("asset_id")
    )
    count = items.select("ledger_id", "transaction_id").unique().height
    money = "; ".join(format_money(int(a), str(s)) for s, a in per.iter_rows())
    return f"{count:,}" + (f": {money}" if money else "")


def _days(ns: int | None) -> str:
    return "-" if ns is None else f"{ns / _DAY_NS:.1f} days"


def headline_figures(analytics: CloseAnalytics) -> pl.DataFrame:
    """The analytics' headline figures as (analytic, figure, value) text rows."""
    idem = analytics.idempotency
    counted = dict(idem.classified["class"].value_counts().iter_rows())
    classes = ", ".join(f"{c.replace('_', ' ')} {counted[c]:,}" for c in _CLASSES if counted.get(c))
    items = analytics.pending.items
    pairs = analytics.reversals.pairs
    linked = pairs.filter(pl.col("linked"))
    lags = analytics.reversals.lags.row(0, named=True) if linked.height else {}
    rows = [
        ("Idempotency", "submissions classified", f"{idem.classified.height:,}: {classes or '-'}"),
        ("Pending", "open at period end", _amounts(items.filter(pl.col("open_at_as_of")))),
        (
            "Pending",
            f"open past the {DEFAULT_TIMEOUT_NS // _DAY_NS}-day hold timeout",
            _amounts(items.filter(pl.col("past_timeout"))),
        ),
        (
            "Pending",
            "cut-off exposure (pending at period end, posted after it)",
            _amounts(items.filter(pl.col("cutoff_exposure"))),
        ),
        (
            "Pending",
            "voided (any time)",
            _amounts(items.filter(pl.col("resolution") == "voided")),
        ),
        (
            "Reversals",
            "pairs",
            (
                f"{linked.height:,} linked, "
                f"{linked.filter(pl.col('pairing') == 'exact_inverse').height:,} exact inverse; "
                f"{pairs.filter(~pl.col('linked')).height:,} unlinked inverse(s)"
            ),
        ),
        (
            "Reversals",
            "lag, original to reversal",
            (
                f"median {_days(lags.get('median_ns'))}, 90th percentile "
                f"{_days(lags.get('p90_ns'))}, longest {_days(lags.get('max_ns'))}"
            ),
        ),
        (
            "Reversals",
            "crossing the period end / reversing a reversal",
            (
                f"{pairs.filter(pl.col('crosses_period_end')).height:,} / "
                f"{pairs.filter(pl.col('of_reversal')).height:,}"
            ),
        ),
    ]
    return pl.DataFrame(
        rows,
        schema={"analytic": pl.String(), "figure": pl.String(), "value": pl.String()},
        orient="row",
    )
