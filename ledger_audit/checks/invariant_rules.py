"""The ``legs`` frame the invariant suites run on, and the rows an invariant returns.

The great-expectations suites run on one prepared table, ``legs``: every entry joined with
its transaction version, its account and its asset, plus one row (entry columns null) for a
version without entries and one row (version columns null, ``has_version`` 0) for an entry
that belongs to no version. The frame path builds it with :func:`prepare_legs`; the SQL path
builds the same rows in the database (``ledger_audit.sources.invariant_sql.legs_query``).

Each custom invariant is one SQLAlchemy statement (``sources.invariant_sql``) that reduces
``legs`` to its violations: rows of VIOLATION_SCHEMA, one per finding-to-be (a chain gap is
one row for the whole gap). ``checks.engines`` runs it on these frames (DuckDB) or in the
database; there is no polars copy of the rules to keep equal.

Chain order is ``chain_seq`` (rows without one last), then transaction id and version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from ledger_audit.replay.balances import SUM_AMOUNT
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources.ledger_frames import LedgerFrames

LEGS_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "transaction_id": pl.String(),
    "version": pl.Int64(),
    "has_version": pl.Int64(),
    "kind": pl.String(),
    "status": pl.String(),
    "pending_transaction_id": pl.String(),
    "reverses_transaction_id": pl.String(),
    "idempotency_key": pl.String(),
    "external_id": pl.String(),
    "chain_seq": pl.Int64(),
    "recorded_ns": pl.Int64(),
    "entry_index": pl.Int64(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "direction": pl.String(),
    "amount": pl.Int64(),
    "account_asset_id": pl.String(),
    "account_check": pl.String(),
    "allow_negative": pl.Int64(),
    "normal_balance": pl.String(),
    "asset_check": pl.Int64(),
}
"""The prepared table the suites run on. Integers only (money in minor units, flags 0/1).

``account_check`` is the account's normal balance, ``unknown`` when the account does not
exist, null on a row without an entry; ``asset_check`` is the asset's scale, -1 when the
asset is not registered, null on a row without an entry. ``amount`` is Decimal(38, 0) instead
for a ledger loaded with amounts beyond int64 (see :func:`legs_schema`)."""


def legs_schema(amount: pl.DataType) -> dict[str, pl.DataType]:
    """LEGS_SCHEMA with ``amount`` as the ledger holds it: Int64, or WIDE_AMOUNT.

    A ledger loaded with amounts beyond int64 has them as Decimal(38, 0): an Int64 cast fails.
    """
    return {**LEGS_SCHEMA, "amount": WIDE_AMOUNT if amount == WIDE_AMOUNT else pl.Int64()}


VIOLATION_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "transaction_id": pl.String(),
    "version": pl.Int64(),
    "chain_seq": pl.Int64(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "code": pl.String(),
    "subject": pl.String(),
    "other_transaction_id": pl.String(),
    "other_version": pl.Int64(),
    "other_chain_seq": pl.Int64(),
    "expected": SUM_AMOUNT,
    "actual": SUM_AMOUNT,
}
"""One violation of a custom invariant: where, a reason code, the transaction it is about
(``subject``: the pending one, the original), the other row involved, two amounts (exact
sums, Decimal(38, 0); a chain gap puts seqs there)."""

_EXACT = ("expected", "actual")


def violations_to_rows(frame: pl.DataFrame) -> list[dict[str, object]]:
    """VIOLATION_SCHEMA rows as plain dicts for GX's results, the amounts as exact text."""
    return frame.with_columns(pl.col(_EXACT).cast(pl.String())).to_dicts()


def violations_from_rows(rows: Sequence[Mapping[str, object]]) -> pl.DataFrame:
    """Back from ``violations_to_rows`` (or SQL rows: amounts as int or text) to the frame."""
    transport = {name: pl.String() if name in _EXACT else d for name, d in VIOLATION_SCHEMA.items()}
    plain = [
        {k: (str(v) if k in _EXACT and v is not None else v) for k, v in row.items()}
        for row in rows
    ]
    frame = pl.DataFrame(plain, schema=transport, orient="row")
    return frame.with_columns(_exact_text(name).alias(name) for name in _EXACT)


def violations_from_text(frame: pl.DataFrame) -> pl.DataFrame:
    """An engine's result (VIOLATION_SCHEMA columns, amounts as text) typed, column by column."""
    return frame.select(
        _exact_text(name, pl.col(name).cast(pl.String())).alias(name)
        if name in _EXACT
        else pl.col(name).cast(dtype)
        for name, dtype in VIOLATION_SCHEMA.items()
    )


def _exact_text(name: str, text: pl.Expr | None = None) -> pl.Expr:
    """An integer's text, or the SQL path's ``hi:lo`` pair (hi * 2^32 + lo), as SUM_AMOUNT."""
    halves = (pl.col(name) if text is None else text).str.split(":")
    hi = halves.list.get(0, null_on_oob=True).cast(pl.Int128())
    lo = halves.list.get(1, null_on_oob=True).cast(pl.Int128())
    exact = pl.when(lo.is_null()).then(hi).otherwise(hi * (1 << 32) + lo)
    return exact.cast(SUM_AMOUNT)


VIOLATION_KEY = ("ledger_id", "chain_seq", "transaction_id", "version", "asset_id", "account_id")
"""The order violations are returned in (every engine; then the other columns)."""

TX = ("ledger_id", "transaction_id")
VERSION = (*TX, "version")
GAP_LIMIT = 1_000
"""A gap wider than this is one violation at its first seq (as the chain verifier does)."""


def prepare_legs(frames: LedgerFrames) -> pl.DataFrame:
    """The ``legs`` table of a loaded ledger (see the module docstring); ``legs_schema``."""
    schema = legs_schema(frames.entries.schema["amount"])
    versions = frames.transactions.select(
        *TX,
        pl.col("version").cast(pl.Int64()),
        pl.lit(1, dtype=pl.Int64()).alias("has_version"),
        "kind",
        "status",
        "pending_transaction_id",
        "reverses_transaction_id",
        "idempotency_key",
        "external_id",
        "chain_seq",
        "recorded_ns",
    )
    entries = frames.entries.select(
        *TX,
        pl.col("version").cast(pl.Int64()),
        pl.col("entry_index").cast(pl.Int64()),
        "account_id",
        "asset_id",
        "direction",
        pl.col("amount").cast(schema["amount"]),
    )
    joined = versions.join(entries, on=list(VERSION), how="full", coalesce=True)
    accounts = frames.accounts.select(
        "ledger_id",
        "account_id",
        pl.col("asset_id").alias("account_asset_id"),
        pl.col("normal_balance").alias("_normal"),
        pl.col("allow_negative").cast(pl.Int64()).alias("allow_negative"),
        pl.lit(value=True).alias("_account_found"),
    )
    assets = frames.assets.select(
        "asset_id",
        pl.col("scale").cast(pl.Int64()).alias("_scale"),
        pl.lit(value=True).alias("_asset_found"),
    )
    has_entry = pl.col("entry_index").is_not_null()
    return (
        joined.join(accounts, on=["ledger_id", "account_id"], how="left")
        .join(assets, on="asset_id", how="left")
        .with_columns(
            pl.col("has_version").fill_null(0),
            pl.col("_normal").alias("normal_balance"),
            pl.when(~has_entry)
            .then(None)
            .when(pl.col("_account_found").is_null())
            .then(pl.lit("unknown"))
            .otherwise(pl.col("_normal"))
            .alias("account_check"),
            pl.when(~has_entry)
            .then(None)
            .when(pl.col("_asset_found").is_null())
            .then(pl.lit(-1))
            .otherwise(pl.col("_scale"))
            .alias("asset_check"),
        )
        .select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
        .sort("ledger_id", "chain_seq", "transaction_id", "version", "entry_index", nulls_last=True)
    )
