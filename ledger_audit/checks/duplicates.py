"""``payment.duplicate_suspected``: the same payment submitted twice under different keys.

Idempotency keys stop a client's retry; they cannot stop a second request with a fresh key
(a double click, a replayed webhook). The tell-tale is a new transaction with exactly the
same legs (accounts, assets, directions, amounts) and the same external reference (or none
on both) as another one recorded shortly before. Two payments whose external ids differ are,
by the client's own account, two payments: a wallet charged the same fee twice a day is not
a duplicate. The legs are compared as text only where their multiset key repeats
(``checks/payload.py``): on the 1M demo, 2 of its 984,870 payments.
The window is ``VerifySpec.duplicate_window_ns`` (a day by default). Only first
versions of standard and pending transactions are payments; captures, voids and reversals
mirror other transactions by design.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.checks.payload import KEY, candidates, payload_keys
from ledger_audit.findings import CheckResult, Coverage, RuleId, Severity, findings_from
from ledger_audit.schema.times import iso_expr
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec

CHECK = "duplicate_payments"
_PAYMENT_KINDS = ("standard", "pending")
_UNREAD = ("description", "metadata", "meta_hash", "chain_prev_hash", "content_hash", "chain_hash")
"""Transaction columns no step below reads (none is a locator column)."""


def check_duplicate_payments(frames: LedgerFrames, spec: VerifySpec) -> CheckResult:
    """One finding per payment whose legs repeat an earlier payment's within the window."""
    payments = (
        frames.transactions.lazy()
        .filter((pl.col("version") == 0) & pl.col("kind").is_in(_PAYMENT_KINDS))
        .drop(_UNREAD)  # collected below: the hashes and texts would be copied for nothing
    )
    entries = frames.entries.lazy().filter(pl.col("version") == 0)
    keyed = payments.join(payload_keys(entries), on=list(KEY), how="inner").collect().lazy()
    # Only payments whose legs' key another payment with the same external id shares can
    # repeat one (checks/payload.py); their legs' text decides.
    alike = candidates(keyed, ("ledger_id", "external_id"))
    legs = (
        entries.join(alike.select(KEY), on=list(KEY), how="semi")
        .select(
            "ledger_id",
            "transaction_id",
            pl.concat_str(
                "account_id",
                "asset_id",
                "direction",
                pl.col("amount").cast(pl.String()),
                separator="\x1f",
            ).alias("_leg"),
        )
        .group_by("ledger_id", "transaction_id")
        .agg(pl.col("_leg").sort().str.join("\x1e").alias("_legs"))
    )
    alike = alike.join(legs, on=["ledger_id", "transaction_id"], how="inner")
    same = ("ledger_id", "_legs", "external_id")  # null external ids group together
    # Total: two copies recorded at the same instant at one seq still have one order.
    order = (*same, "recorded_ns", "chain_seq", "transaction_id")
    ordered = alike.sort(*order, nulls_last=True).with_columns(
        pl.col(c).shift(1).over(same).alias(f"_prev_{c}")
        for c in ("transaction_id", "recorded_ns", "chain_seq")
    )
    twins = ordered.filter(
        pl.col("_prev_transaction_id").is_not_null()
        & (pl.col("recorded_ns") - pl.col("_prev_recorded_ns") < spec.duplicate_window_ns)
    )
    gap = (pl.col("recorded_ns") - pl.col("_prev_recorded_ns")) // 1_000_000_000
    findings = findings_from(
        twins,
        rule=RuleId.PAYMENT_DUPLICATE_SUSPECTED,
        severity=Severity.MEDIUM,
        check=CHECK,
        table="transactions",
        message=pl.format(
            "{} repeats the legs of {} (seq {}) {} s later under another idempotency key",
            pl.col("transaction_id"),
            pl.col("_prev_transaction_id"),
            pl.col("_prev_chain_seq"),
            gap,
        ),
        expected=pl.lit("one payment"),
        actual=pl.format(
            "{} recorded {} and {} recorded {}",
            pl.col("_prev_transaction_id"),
            iso_expr(pl.col("_prev_recorded_ns")),
            pl.col("transaction_id"),
            iso_expr(pl.col("recorded_ns")),
        ),
    ).collect()
    checked = keyed.select(pl.len()).collect().item()
    coverage = Coverage(
        checked=checked,
        unit="payments (first versions of standard and pending transactions)",
        scope=(
            f"same legs and external id within {spec.duplicate_window_ns / 3.6e12:g} h, "
            "recorded order"
        ),
    )
    return CheckResult(CHECK, findings, coverage)
