"""Rows a JET rule flagged -> findings in the one findings schema, and a rule's outcome."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.analytics.jet.catalogue import INFO, JetRule
from ledger_audit.findings import FINDINGS_SCHEMA, Severity, render_locator

CHECK = "jet"
TABLE = "transactions"


@dataclass(frozen=True, slots=True, eq=False)
class RuleOutcome:
    """One rule's result before scoring.

    Attributes:
        rule: the rule.
        findings: its findings (FINDINGS_SCHEMA), lazy.
        applicable: False when a field or setting the rule needs is absent; then
            ``findings`` is empty and ``note`` says what is missing ("not applicable: ...").
        note: what the rule looked at or could not, one sentence (empty: nothing to add).
    """

    rule: JetRule
    findings: pl.LazyFrame
    applicable: bool = True
    note: str = ""


def not_applicable(rule: JetRule, missing: str) -> RuleOutcome:
    """The outcome of a rule whose field the source lacks: never a pass."""
    return RuleOutcome(
        rule,
        pl.LazyFrame(schema=FINDINGS_SCHEMA),
        applicable=False,
        note=f"not applicable: {missing}",
    )


_ORDER = ("entry_index", "account_id", "threshold", "credit_account")
"""How a transaction's flagged rows are ranked: a leg flagged under several thresholds
reports the lowest, a debit paired with several credit accounts the first by name. The
order must be total, or the same ledger could report a different row from run to run."""


def one_per_transaction(rows: pl.LazyFrame, *, in_leg_order: bool = False) -> pl.LazyFrame:
    """The first flagged row of each transaction (lowest entry index, account, threshold).

    ``rows`` carry the population's transaction code ``tx`` (its order is the key order).
    ``in_leg_order``: the caller knows ``rows`` hold at most one row per leg, in the order
    of legs that are in ``tx`` and entry-index order (``Population.legs_in_order``); each
    transaction's first row is then its first flag, found without a sort.
    """
    if in_leg_order:
        tx = pl.col("tx")
        return rows.filter((tx != tx.shift(1)).fill_null(value=True))
    order = [c for c in _ORDER if c in rows.collect_schema().names()]
    return rows.sort(["tx", *order]).unique("tx", keep="first", maintain_order=True)


def flag(
    rows: pl.LazyFrame,
    rule: JetRule,
    *,
    message: pl.Expr,
    expected: pl.Expr | None = None,
    actual: pl.Expr | None = None,
    severity: pl.Expr | None = None,
    note: str = "",
) -> RuleOutcome:
    """Findings of ``rule`` from flagged ``rows``.

    ``rows`` carry ledger_id, transaction_id, version, chain_seq and optionally account_id
    and asset_id; the expressions are evaluated over them.
    """
    names = set(rows.collect_schema().names())
    missing = [
        pl.lit(None, dtype=pl.String()).alias(c)
        for c in ("account_id", "asset_id")
        if c not in names
    ]
    located = rows.with_columns(missing)
    text = pl.lit(None, dtype=pl.String())
    level = severity if severity is not None else pl.lit(str(INFO[rule].severity))
    findings = located.select(
        pl.lit(str(rule)).alias("rule"),
        level.cast(pl.String()).alias("severity"),
        pl.lit(CHECK).alias("check"),
        pl.col("ledger_id").cast(pl.String()),
        pl.lit(TABLE).alias("table"),
        pl.col("transaction_id").cast(pl.String()),
        pl.col("version").cast(pl.Int32()),
        pl.col("chain_seq").cast(pl.Int64()),
        pl.col("account_id").cast(pl.String()),
        pl.col("asset_id").cast(pl.String()),
        render_locator(TABLE).alias("locator"),
        message.cast(pl.String()).alias("message"),
        (text if expected is None else expected.cast(pl.String())).alias("expected"),
        (text if actual is None else actual.cast(pl.String())).alias("actual"),
        pl.lit(None, dtype=pl.String()).alias("difference"),
    )
    return RuleOutcome(rule, findings, note=note)


def severity_if(condition: pl.Expr, raised: Severity, otherwise: Severity) -> pl.Expr:
    """``raised`` where ``condition`` holds, else ``otherwise``."""
    return pl.when(condition).then(pl.lit(str(raised))).otherwise(pl.lit(str(otherwise)))


def utc(ns: str) -> pl.Expr:
    """An epoch-nanosecond column as a UTC datetime."""
    return pl.from_epoch(pl.col(ns), time_unit="ns").dt.replace_time_zone("UTC")


def iso(ns: str) -> pl.Expr:
    """An epoch-nanosecond column as ``YYYY-MM-DDTHH:MM:SSZ`` text."""
    return utc(ns).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def amount_text(amount: str = "amount", asset: str = "asset_id") -> pl.Expr:
    """``12345 USD/2`` (minor units and the asset: exact, no float)."""
    return pl.concat_str(pl.col(amount).cast(pl.String()), pl.lit(" "), pl.col(asset))
