"""TigerBeetle accounts and transfers as canonical raw tables (columnar, no loop per row).

- A transfer is a transaction whose id and idempotency key are the transfer id, with entry 0
  debiting ``debit_account_id`` and entry 1 crediting ``credit_account_id`` in the asset its
  ``ledger`` maps to.
- Two-phase transfers are state style, as the canonical ledger keeps them: the pending
  transfer is version 0 (``pending``); the transfer that posts or voids it is version 1 of the
  same transaction (``post_pending``/``posted`` with the posted amount, or
  ``void_pending``/``archived``), its own id as that version's idempotency key. A second
  resolution is version 2, which the status check reports. A pending transfer with a timeout,
  unresolved when the export ends at or after ``timestamp + timeout``, gets a synthetic
  version 1: ``void_pending``/``archived`` at the expiry instant, ``"expired": true`` in its
  metadata (TigerBeetle's ``two_phase_expired``).
- A post or void whose pending transfer is not in the export is its own transaction with
  ``pending_transaction_id`` naming the missing one.
- A linked chain's members carry ``linked_group`` (the id of the chain's first transfer) in
  their metadata, so the group stays auditable.
- Account flags give the normal balance: ``debits_must_not_exceed_credits`` is credit-normal
  and no-negative, ``credits_must_not_exceed_debits`` debit-normal and no-negative; without
  either, ``[codes]`` decides, else debit (counted in the notes). The four counters are the
  account's stored balance, as of the export's end.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.adapters.tigerbeetle import fields as f
from ledger_audit.sources.adapters.tigerbeetle.export import LINE, ExportConfig

_NS_PER_SECOND = 1_000_000_000
ISSUE_COLUMNS = ("transfer_id", "line", "message", "expected", "actual")


@dataclass(frozen=True, slots=True, eq=False)
class Built:
    """Canonical raw tables and what the build noticed.

    Attributes:
        tables: canonical table name -> raw frame (conform_table casts it).
        issues: transfers TigerBeetle would not have accepted as they stand (ISSUE_COLUMNS).
        open_chain: the id of a linked chain's first transfer when the export ends inside
            that chain, else None.
        chains: linked chains seen (of two or more transfers).
        expired: synthetic expiry versions added.
        imported: transfers with ``flags.imported`` (their timestamps are user-supplied).
        default_normal: accounts whose normal balance neither a flag nor ``[codes]`` said.
        closed_unknown: closed accounts whose closing transfer is not in the export.
        end_ns: the instant the export ends.
    """

    tables: dict[str, pl.DataFrame]
    issues: pl.DataFrame
    open_chain: str | None
    chains: int
    expired: int
    imported: int
    default_normal: int
    closed_unknown: int
    end_ns: int


def end_of(config: ExportConfig, accounts: pl.DataFrame, transfers: pl.DataFrame) -> int:
    """The export's end: ``[source] end_ns``, else the latest timestamp read (0 if none)."""
    if config.end_ns is not None:
        return config.end_ns
    stamps = pl.concat([accounts.get_column("timestamp"), transfers.get_column("timestamp")])
    latest = stamps.cast(pl.Int64).max()
    return int(latest) if isinstance(latest, int) else 0


def _asset(config: ExportConfig, ledger: pl.Expr) -> pl.Expr:
    return ledger.replace_strict(dict(config.ledgers), default=None, return_dtype=pl.String)


def _metadata(**parts: pl.Expr) -> pl.Expr:
    inner = pl.struct([expr.alias(name) for name, expr in parts.items()])
    return pl.struct(inner.alias("tigerbeetle")).struct.json_encode()


def _with_chains(transfers: pl.DataFrame) -> tuple[pl.DataFrame, str | None, int]:
    """Add ``linked_group``; a chain runs until the first transfer without ``linked``."""
    ordered = transfers.sort("ts", LINE)
    linked = f.has("flags", f.LINKED)
    starts = ~linked.shift(1, fill_value=False)
    ordered = ordered.with_columns(starts.cum_sum().alias("__chain"), linked.alias("__linked"))
    ordered = ordered.with_columns(
        pl.when(pl.len().over("__chain") > 1)
        .then(pl.col("id").first().over("__chain"))
        .alias("linked_group")
    )
    open_chain = None
    if ordered.height and bool(ordered.get_column("__linked")[-1]):
        open_chain = str(
            ordered.get_column("id").filter(
                ordered.get_column("__chain") == ordered.get_column("__chain")[-1]
            )[0]
        )
    chains = ordered.filter(pl.col("linked_group").is_not_null()).get_column("__chain").n_unique()
    return ordered.drop("__chain", "__linked"), open_chain, chains


def _resolutions(
    transfers: pl.DataFrame, config: ExportConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Posts and voids joined to their pending transfer, and what does not fit (issues)."""
    pending = transfers.filter(pl.col("mode") == "pending").select(
        pl.col("id").alias("p_id"),
        pl.col("debit_account_id").alias("p_debit"),
        pl.col("credit_account_id").alias("p_credit"),
        pl.col("ledger").alias("p_ledger"),
        pl.col("amount").alias("p_amount"),
        pl.col("ts").alias("p_ts"),
        pl.col("timeout").cast(pl.Int64).alias("p_timeout"),
    )
    post = pl.col("mode") == "post"
    rows = transfers.filter(pl.col("mode").is_in(["post", "void"])).join(
        pending, left_on="pending_id", right_on="p_id", how="left"
    )
    matched = pl.col("p_ts").is_not_null()

    def inherited(own: str, theirs: str) -> pl.Expr:
        return pl.when(matched & (pl.col(own) == "0")).then(pl.col(theirs)).otherwise(pl.col(own))

    full = pl.col("p_amount")
    amount = (
        pl.when(post & (pl.col("amount") == f.U128_MAX))
        .then(full)
        .when(post & (pl.col("amount") == "0") & pl.lit(config.before_016))
        .then(full)
        .when(~post & (pl.col("amount") == "0"))
        .then(full)
        .otherwise(pl.col("amount"))
    )
    expiry = pl.col("p_ts") + pl.col("p_timeout") * _NS_PER_SECOND
    rows = rows.with_columns(
        inherited("debit_account_id", "p_debit").alias("debit_account_id"),
        inherited("credit_account_id", "p_credit").alias("credit_account_id"),
        inherited("ledger", "p_ledger").alias("ledger"),
        amount.alias("amount"),
        pl.when(matched)
        .then(pl.int_range(1, pl.len() + 1).over("pending_id", order_by=["ts", LINE]))
        .otherwise(0)
        .cast(pl.Int32)
        .alias("version"),
    )

    def differs(own: str, theirs: str) -> pl.Expr:
        return matched & (pl.col(own) != "0") & (pl.col(own) != pl.col(theirs))

    checks = [
        (
            ~matched,
            pl.format("its pending transfer {} is not in the export", "pending_id"),
            pl.format("pending transfer {}", "pending_id"),
            pl.lit("absent"),
        ),
        (
            differs("debit_account_id", "p_debit"),
            pl.lit("its debit account differs from its pending transfer's"),
            pl.col("p_debit"),
            pl.col("debit_account_id"),
        ),
        (
            differs("credit_account_id", "p_credit"),
            pl.lit("its credit account differs from its pending transfer's"),
            pl.col("p_credit"),
            pl.col("credit_account_id"),
        ),
        (
            differs("ledger", "p_ledger"),
            pl.lit("its ledger differs from its pending transfer's"),
            pl.col("p_ledger"),
            pl.col("ledger"),
        ),
        (
            matched & ~post & (pl.col("amount") != "0") & (pl.col("amount") != full),
            pl.lit("a void must name 0 or exactly the pending amount"),
            full,
            pl.col("amount"),
        ),
        (
            matched & (pl.col("p_timeout") > 0) & (pl.col("ts") > expiry),
            pl.format("it resolves pending transfer {} after that expired", "pending_id"),
            pl.format("at or before {} ns", expiry),
            pl.format("{} ns", "ts"),
        ),
    ]
    raw = transfers.filter(pl.col("mode").is_in(["post", "void"])).join(
        pending, left_on="pending_id", right_on="p_id", how="left"
    )
    issues = pl.concat(
        [
            raw.filter(when).select(
                pl.col("id").alias("transfer_id"),
                pl.col(LINE).alias("line"),
                message.alias("message"),
                expected.cast(pl.String).alias("expected"),
                actual.cast(pl.String).alias("actual"),
            )
            for when, message, expected, actual in checks
        ]
    )
    return rows, issues


def build(
    config: ExportConfig, accounts: pl.DataFrame, transfers: pl.DataFrame, end_ns: int
) -> Built:
    """Canonical raw tables from screened accounts and transfers."""
    ledger_id = config.cluster
    t = transfers.with_columns(
        pl.col("timestamp").cast(pl.Int64).alias("ts"),
        pl.when(f.has("flags", f.POST_PENDING))
        .then(pl.lit("post"))
        .when(f.has("flags", f.VOID_PENDING))
        .then(pl.lit("void"))
        .when(f.has("flags", f.PENDING))
        .then(pl.lit("pending"))
        .otherwise(pl.lit("single"))
        .alias("mode"),
    )
    t, open_chain, chains = _with_chains(t)
    resolutions, issues = _resolutions(t, config)
    matched = pl.col("version") > 0
    own = t.filter(pl.col("mode").is_in(["pending", "single"])).with_columns(
        pl.lit(0, dtype=pl.Int32).alias("version"),
        pl.col("id").alias("transaction_id"),
        pl.when(pl.col("mode") == "pending")
        .then(pl.lit("pending"))
        .otherwise(pl.lit("standard"))
        .alias("kind"),
        pl.when(pl.col("mode") == "pending")
        .then(pl.lit("pending"))
        .otherwise(pl.lit("posted"))
        .alias("status"),
        pl.lit(None, dtype=pl.String).alias("pending_transaction_id"),
    )
    resolving = resolutions.with_columns(
        pl.when(matched).then(pl.col("pending_id")).otherwise(pl.col("id")).alias("transaction_id"),
        pl.when(pl.col("mode") == "post")
        .then(pl.lit("post_pending"))
        .otherwise(pl.lit("void_pending"))
        .alias("kind"),
        pl.when(pl.col("mode") == "post")
        .then(pl.lit("posted"))
        .otherwise(pl.lit("archived"))
        .alias("status"),
        pl.when(matched).then(None).otherwise(pl.col("pending_id")).alias("pending_transaction_id"),
    )
    meta = {
        "transfer_id": pl.col("id"),
        "code": pl.col("code"),
        "flags": pl.col("flags"),
        "user_data_128": pl.col("user_data_128"),
        "user_data_64": pl.col("user_data_64"),
        "user_data_32": pl.col("user_data_32"),
        "linked_group": pl.col("linked_group"),
        "expired": pl.lit(value=False),
    }
    columns = ("transaction_id", "version", "kind", "status", "pending_transaction_id")
    legs = ("debit_account_id", "credit_account_id", "ledger", "amount")
    real = pl.concat(
        [
            frame.select(
                *columns,
                *legs,
                pl.col("ts").alias("at"),
                pl.col("id").alias("idempotency_key"),
                _metadata(**meta).alias("metadata"),
            )
            for frame in (own, resolving)
        ]
    )
    expired = _expiries(t, resolutions, end_ns, meta)
    versions = pl.concat([real, expired])
    transactions = versions.select(
        pl.lit(ledger_id).alias("ledger_id"),
        "transaction_id",
        "version",
        "kind",
        "status",
        "pending_transaction_id",
        pl.lit(None, dtype=pl.String).alias("reverses_transaction_id"),
        pl.col("at").alias("effective_ns"),
        pl.col("at").alias("recorded_ns"),
        "idempotency_key",
        *(pl.lit(None, dtype=pl.String).alias(c) for c in ("external_id", "description")),
        "metadata",
        *(pl.lit(None, dtype=pl.String).alias(c) for c in ("meta_hash",)),
        pl.lit(None, dtype=pl.Int64).alias("chain_seq"),
        *(
            pl.lit(None, dtype=pl.String).alias(c)
            for c in ("chain_prev_hash", "content_hash", "chain_hash")
        ),
    )
    moving = versions.filter(pl.col("amount") != "0")
    entries = pl.concat(
        [
            moving.select(
                pl.lit(ledger_id).alias("ledger_id"),
                "transaction_id",
                "version",
                pl.lit(index, dtype=pl.Int32).alias("entry_index"),
                pl.col(account).alias("account_id"),
                _asset(config, pl.col("ledger")).alias("asset_id"),
                pl.lit(direction).alias("direction"),
                "amount",
            )
            for index, account, direction in (
                (0, "debit_account_id", "debit"),
                (1, "credit_account_id", "credit"),
            )
        ]
    )
    canonical_accounts, default_normal, closed_unknown = _accounts(config, accounts, t, ledger_id)
    tables = {
        "ledgers": _ledgers(config, accounts, t, ledger_id),
        "assets": _assets(config),
        "accounts": canonical_accounts,
        "transactions": transactions,
        "entries": entries,
        "balances": accounts.select(
            pl.lit(ledger_id).alias("ledger_id"),
            pl.col("id").alias("account_id"),
            _asset(config, pl.col("ledger")).alias("asset_id"),
            pl.col("debits_posted").alias("posted_debits"),
            pl.col("credits_posted").alias("posted_credits"),
            pl.col("debits_pending").alias("pending_debits"),
            pl.col("credits_pending").alias("pending_credits"),
            pl.lit(end_ns, dtype=pl.Int64).alias("as_of_ns"),
            pl.lit(0, dtype=pl.Int64).alias("lock_version"),
        ),
    }
    return Built(
        tables=tables,
        issues=issues,
        open_chain=open_chain,
        chains=chains,
        expired=expired.height,
        imported=t.filter(f.has("flags", f.IMPORTED)).height,
        default_normal=default_normal,
        closed_unknown=closed_unknown,
        end_ns=end_ns,
    )


def _expiries(
    t: pl.DataFrame, resolutions: pl.DataFrame, end_ns: int, meta: dict[str, pl.Expr]
) -> pl.DataFrame:
    """Synthetic archived versions of pending transfers that timed out unresolved."""
    resolved = resolutions.filter(pl.col("version") > 0).select(pl.col("pending_id").alias("id"))
    expiry = pl.col("ts") + pl.col("timeout").cast(pl.Int64) * _NS_PER_SECOND
    due = (
        t.filter((pl.col("mode") == "pending") & (pl.col("timeout") != "0"))
        .join(resolved.unique(), on="id", how="anti")
        .filter(expiry <= end_ns)
    )
    return due.select(
        pl.col("id").alias("transaction_id"),
        pl.lit(1, dtype=pl.Int32).alias("version"),
        pl.lit("void_pending").alias("kind"),
        pl.lit("archived").alias("status"),
        pl.lit(None, dtype=pl.String).alias("pending_transaction_id"),
        "debit_account_id",
        "credit_account_id",
        "ledger",
        "amount",
        expiry.alias("at"),
        pl.lit(None, dtype=pl.String).alias("idempotency_key"),
        _metadata(**{**meta, "expired": pl.lit(value=True)}).alias("metadata"),
    )


def _accounts(
    config: ExportConfig, accounts: pl.DataFrame, t: pl.DataFrame, ledger_id: str
) -> tuple[pl.DataFrame, int, int]:
    credit_limit = f.has("flags", f.DEBITS_MUST_NOT_EXCEED_CREDITS)
    debit_limit = f.has("flags", f.CREDITS_MUST_NOT_EXCEED_DEBITS)
    by_code = pl.col("code").replace_strict(
        dict(config.codes), default=None, return_dtype=pl.String
    )
    closing = pl.concat(
        [
            t.filter(f.has("flags", bit)).select(pl.col(column).alias("id"), "ts")
            for bit, column in (
                (f.CLOSING_DEBIT, "debit_account_id"),
                (f.CLOSING_CREDIT, "credit_account_id"),
            )
        ]
    )
    closed_at = closing.group_by("id").agg(pl.col("ts").max().alias("__closed"))
    rows = accounts.join(closed_at, on="id", how="left").with_columns(
        f.has("flags", f.ACCOUNT_CLOSED).alias("__is_closed")
    )
    frame = rows.select(
        pl.lit(ledger_id).alias("ledger_id"),
        pl.col("id").alias("account_id"),
        pl.col("id").alias("name"),
        pl.when(credit_limit)
        .then(pl.lit("credit"))
        .when(debit_limit)
        .then(pl.lit("debit"))
        .otherwise(pl.coalesce(by_code, pl.lit("debit")))
        .alias("normal_balance"),
        _asset(config, pl.col("ledger")).alias("asset_id"),
        (~(credit_limit | debit_limit)).alias("allow_negative"),
        pl.col("timestamp").alias("opened_ns"),
        pl.when(pl.col("__is_closed")).then(pl.col("__closed")).alias("closed_ns"),
        pl.lit(None, dtype=pl.String).alias("external_id"),
        _metadata(
            code=pl.col("code"),
            flags=pl.col("flags"),
            ledger=pl.col("ledger"),
            user_data_128=pl.col("user_data_128"),
            user_data_64=pl.col("user_data_64"),
            user_data_32=pl.col("user_data_32"),
        ).alias("metadata"),
    )
    default_normal = rows.filter(~(credit_limit | debit_limit) & by_code.is_null()).height
    closed_unknown = rows.filter(pl.col("__is_closed") & pl.col("__closed").is_null()).height
    return frame, default_normal, closed_unknown


def _assets(config: ExportConfig) -> pl.DataFrame:
    assets = sorted({asset for _, asset in config.ledgers})
    return pl.DataFrame(
        {
            "asset_id": assets,
            "code": [asset.split("/")[0] for asset in assets],
            "scale": [asset.split("/")[1] for asset in assets],
            "kind": ["unspecified"] * len(assets),
        },
        schema={"asset_id": pl.String, "code": pl.String, "scale": pl.String, "kind": pl.String},
    )


def _ledgers(
    config: ExportConfig, accounts: pl.DataFrame, t: pl.DataFrame, ledger_id: str
) -> pl.DataFrame:
    stamps = pl.concat([accounts.get_column("timestamp").cast(pl.Int64), t.get_column("ts")])
    first = stamps.min()
    created = int(first) if isinstance(first, int) else 0
    meta = pl.DataFrame(
        {
            "version": [config.version],
            "version_stated": [config.version_known],
            "ledgers": [dict(config.ledgers)],
        }
    ).select(pl.struct(pl.struct(pl.all()).alias("tigerbeetle")).struct.json_encode())
    return pl.DataFrame(
        {
            "ledger_id": [ledger_id],
            "name": [f"TigerBeetle cluster {ledger_id}"],
            "chain_algorithm": [None],
            "created_ns": [created],
            "metadata": meta.to_series().to_list(),
        },
        schema={
            "ledger_id": pl.String,
            "name": pl.String,
            "chain_algorithm": pl.String,
            "created_ns": pl.Int64,
            "metadata": pl.String,
        },
    )
