"""Write canonical frames (the demo ledger) as Modern Treasury list-endpoint JSON.

Field names and shapes are those of the official ``modern_treasury`` SDK's models
(``Ledger``, ``LedgerAccount``, ``LedgerTransaction`` with ``LedgerEntry``,
``LedgerTransactionVersion``, the ledger account statement): the adapter validates every
record with them. Modern Treasury's semantics, as its docs state them:

- a ledger account has one currency: a multi-asset canonical account becomes one account per
  asset it uses; its ``normal_balance`` is declared; its ``balances`` are posted (posted
  entries) and pending (pending **and** posted entries), with ``lock_version``;
- a transaction changes by versions (``version`` 1, 2, ...): a pending transaction posted in
  full or archived is a new version of it; a partial capture is Modern Treasury's partial
  post, a new posted transaction naming the pending one
  (``partially_posts_ledger_transaction_id``), the pending one archived;
- a reversal names its original (``reverses_ledger_transaction_id``, and the original's
  ``reversed_by_ledger_transaction_id``);
- times are ISO 8601 with microseconds; ``effective_at`` is kept apart from ``created_at``;
- statements state each account's balances over ``[lower, upper)`` windows of whole days.

Built with polars (nested structs and lists), written with ``write_json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import polars as pl

from ledger_audit.replay.balances import LazyLedger, balances_as_of
from ledger_audit.sources.adapters.modern_treasury.running import CELLS as RUNNING_CELLS
from ledger_audit.sources.adapters.modern_treasury.running import running_cells
from ledger_audit.sources.ledger_frames import LedgerFrames

_DAY = 86_400 * 10**9
_KEY = ("transaction_id", "version")
_END = 2**62


@dataclass(frozen=True, slots=True, eq=False)
class ModernTreasuryExport:
    """What was written.

    Attributes:
        folder: the export folder.
        accounts: canonical ``account_id``, ``asset_id`` -> Modern Treasury ``id``.
        transactions: ledger transactions written (partial posts included).
        versions: ledger transaction versions written.
        statements: statements written.
        partial_posts: captures written as partial posts.
    """

    folder: Path
    accounts: pl.DataFrame
    transactions: int
    versions: int
    statements: int
    partial_posts: int


def iso(ns: pl.Expr) -> pl.Expr:
    """Epoch nanoseconds as the API writes instants (microseconds, UTC, ``Z``)."""
    return pl.from_epoch(ns, "ns").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")


def _balance(debit_sum: pl.Expr, credit_sum: pl.Expr, credit_normal: pl.Expr) -> pl.Expr:
    amount = pl.when(credit_normal).then(credit_sum - debit_sum).otherwise(debit_sum - credit_sum)
    return pl.struct(
        amount=amount,
        amount_string=amount.cast(pl.String),
        credits=credit_sum,
        credits_string=credit_sum.cast(pl.String),
        debits=debit_sum,
        debits_string=debit_sum.cast(pl.String),
        currency=pl.col("currency"),
        currency_exponent=pl.col("exponent"),
    )


def _balances(prefix: str = "") -> pl.Expr:
    """``LedgerBalances`` from posted and pending-only cells (MT pending includes posted)."""
    pd, pc = pl.col(f"{prefix}posted_debits"), pl.col(f"{prefix}posted_credits")
    qd = pd + pl.col(f"{prefix}pending_debits")
    qc = pc + pl.col(f"{prefix}pending_credits")
    credit = pl.col("normal_balance") == "credit"
    available = pl.when(credit).then(pc - qd).otherwise(pd - qc)
    return pl.struct(
        posted_balance=_balance(pd, pc, credit),
        pending_balance=_balance(qd, qc, credit),
        available_balance=pl.struct(
            amount=available,
            amount_string=available.cast(pl.String),
            credits=pc,
            credits_string=pc.cast(pl.String),
            debits=qd,
            debits_string=qd.cast(pl.String),
            currency=pl.col("currency"),
            currency_exponent=pl.col("exponent"),
        ),
    )


def _mt_accounts(frames: LedgerFrames) -> pl.DataFrame:
    used = frames.entries.select("account_id", "asset_id").unique()
    single = frames.accounts.filter(pl.col("asset_id").is_not_null()).select(
        "account_id", "asset_id"
    )
    pairs = pl.concat([single, used]).unique().sort("account_id", "asset_id")
    multi = frames.accounts.filter(pl.col("asset_id").is_null()).get_column("account_id")
    return pairs.join(frames.accounts.drop("asset_id"), on="account_id", how="left").with_columns(
        pl.when(pl.col("account_id").is_in(multi.implode()))
        .then(pl.format("{}@{}", "account_id", "asset_id"))
        .otherwise(pl.col("account_id"))
        .alias("id"),
        pl.col("asset_id").str.split("/").list.get(0).alias("currency"),
        pl.col("asset_id").str.split("/").list.get(1).cast(pl.Int64).alias("exponent"),
    )


def _versions(frames: LedgerFrames) -> tuple[pl.DataFrame, pl.DataFrame]:
    """MT version rows (one per canonical version, partial posts split off) and their legs."""
    tx = frames.transactions.select(
        "ledger_id",
        *_KEY,
        "kind",
        "status",
        "reverses_transaction_id",
        "effective_ns",
        "recorded_ns",
        "external_id",
        "description",
    )
    debits = (
        frames.entries.filter(pl.col("direction") == "debit")
        .group_by(*_KEY)
        .agg(pl.col("amount").sum().alias("__moved"))
    )
    tx = tx.join(debits, on=list(_KEY), how="left").sort(*_KEY)
    held = pl.col("__moved").filter(pl.col("status") == "pending").last().over("transaction_id")
    partial = (pl.col("version") > 0) & (pl.col("status") == "posted") & (pl.col("__moved") < held)
    tx = tx.with_columns(partial.fill_null(value=False).alias("partial"))
    # The partial post: a new transaction. The pending one: archived at that instant.
    archive = tx.filter("partial").with_columns(
        pl.lit("archived").alias("status"),
        pl.lit(value=False).alias("partial"),
        pl.lit(value=True).alias("__archive"),
    )
    posts = tx.filter("partial").with_columns(
        pl.col("transaction_id").alias("partially_posts"),
        pl.format("{}-partial", "transaction_id").alias("mt_id"),
        pl.lit(1, dtype=pl.Int64).alias("mt_version"),
        pl.lit(None, dtype=pl.String).alias("external_id"),
        pl.lit(value=False).alias("__archive"),
    )
    own = pl.concat(
        [
            tx.filter(~pl.col("partial")).with_columns(pl.lit(value=False).alias("__archive")),
            archive,
        ]
    ).with_columns(
        pl.lit(None, dtype=pl.String).alias("partially_posts"),
        pl.col("transaction_id").alias("mt_id"),
        (pl.col("version").cast(pl.Int64) + 1).alias("mt_version"),
    )
    versions = pl.concat([own, posts], how="diagonal_relaxed").sort("mt_id", "mt_version")
    target = ("mt_id", "mt_version")
    # Each MT version snapshots its entries: a canonical version's own, except the archive a
    # partial post causes, which snapshots the pending entries it archives (version 0's).
    legs = pl.concat(
        [
            frames.entries.join(
                versions.filter(~pl.col("__archive")).select(*_KEY, *target), on=list(_KEY)
            ),
            frames.entries.filter(pl.col("version") == 0)
            .drop("version")
            .join(
                versions.filter("__archive").select("transaction_id", *target), on="transaction_id"
            ),
        ],
        how="diagonal_relaxed",
    ).sort(*target, "entry_index")
    return versions, legs


def _entry_struct(status: pl.Expr) -> pl.Expr:
    at = iso(pl.col("recorded_ns"))
    return pl.struct(
        id=pl.format("{}:v{}:{}", "mt_id", "mt_version", "entry_index"),
        amount=pl.col("amount"),
        amount_string=pl.col("amount").cast(pl.String),
        created_at=at,
        direction=pl.col("direction"),
        effective_at=iso(pl.col("effective_ns")),
        ledger_account_currency=pl.col("currency"),
        ledger_account_currency_exponent=pl.col("exponent"),
        ledger_account_id=pl.col("mt_account"),
        ledger_account_lock_version=pl.col("lock_version"),
        ledger_transaction_id=pl.col("mt_id"),
        live_mode=pl.lit(value=True),
        metadata=pl.struct(source=pl.lit("ledger-audit demo")),
        object=pl.lit("ledger_entry"),
        resulting_ledger_account_balances=_balances("r_"),
        status=status,
        updated_at=at,
    )


def _resulting(legs: pl.DataFrame, accounts: pl.DataFrame) -> pl.DataFrame:
    """Each leg's account balances after its version was written, and its lock version.

    The running sum is Modern Treasury's (posted, and pending with posted), replayed from
    the versions as ``running.running_cells`` states it; the lock version counts the
    entries written to the account up to and including this one.
    """
    running = running_cells(
        legs.select(
            pl.col("mt_id").alias("chain"),
            pl.col("mt_version").alias("order"),
            "status",
            pl.col("recorded_ns").alias("at"),
            pl.col("mt_account").alias("account_id"),
            "direction",
            "amount",
        )
    ).select(
        pl.col("account_id").alias("mt_account"),
        pl.col("at").alias("recorded_ns"),
        *(pl.col(c).cast(pl.Int64).alias(f"r_{c}") for c in RUNNING_CELLS),
    )
    normal = accounts.select(pl.col("id").alias("mt_account"), "normal_balance")
    return (
        legs.join(running, on=["mt_account", "recorded_ns"], how="left")
        .join(normal, on="mt_account", how="left")
        .sort("recorded_ns", "mt_id", "mt_version", "entry_index")
        .with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("mt_account").alias("lock_version")
        )
    )


def _objects(
    versions: pl.DataFrame, legs: pl.DataFrame, accounts: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    ids = accounts.select(
        "account_id", "asset_id", pl.col("id").alias("mt_account"), "currency", "exponent"
    )
    legs = legs.join(ids, on=["account_id", "asset_id"], how="left").join(
        versions.select("mt_id", "mt_version", "status", "effective_ns", "recorded_ns"),
        on=["mt_id", "mt_version"],
    )
    legs = _resulting(legs, accounts)
    grouped = (
        legs.sort("mt_id", "mt_version", "entry_index")
        .group_by("mt_id", "mt_version", maintain_order=True)
        .agg(_entry_struct(pl.col("status")).alias("ledger_entries"))
    )
    reversed_by = (
        versions.filter(pl.col("reverses_transaction_id").is_not_null())
        .select(
            pl.col("reverses_transaction_id").alias("mt_id"), pl.col("mt_id").alias("reversed_by")
        )
        .unique("mt_id")
    )
    rows = versions.join(grouped, on=["mt_id", "mt_version"], how="left").join(
        reversed_by, on="mt_id", how="left"
    )
    first_created = pl.col("recorded_ns").min().over("mt_id")
    common = {
        "archived_reason": pl.lit(None, dtype=pl.String),
        "description": pl.col("description"),
        "effective_at": iso(pl.col("effective_ns")),
        "effective_date": pl.from_epoch("effective_ns", "ns").dt.strftime("%Y-%m-%d"),
        "external_id": pl.col("external_id"),
        "ledger_entries": pl.col("ledger_entries").fill_null([]),
        "ledger_id": pl.col("ledger_id"),
        "ledgerable_id": pl.lit(None, dtype=pl.String),
        "ledgerable_type": pl.lit(None, dtype=pl.String),
        "live_mode": pl.lit(value=True),
        "metadata": pl.struct(canonical_kind=pl.col("kind")),
        "partially_posts_ledger_transaction_id": pl.col("partially_posts"),
        "posted_at": pl.when(pl.col("status") == "posted").then(iso(pl.col("recorded_ns"))),
        "reversed_by_ledger_transaction_id": pl.col("reversed_by"),
        "reverses_ledger_transaction_id": pl.col("reverses_transaction_id"),
        "status": pl.col("status"),
    }
    version_rows = rows.select(
        id=pl.format("{}:v{}", "mt_id", "mt_version"),
        created_at=iso(pl.col("recorded_ns")),
        ledger_transaction_id=pl.col("mt_id"),
        object=pl.lit("ledger_transaction_version"),
        version=pl.col("mt_version"),
        **common,
    )
    latest = rows.filter(pl.col("mt_version") == pl.col("mt_version").max().over("mt_id"))
    transaction_rows = latest.with_columns(first_created.alias("__created")).select(
        id=pl.col("mt_id"),
        created_at=iso(pl.col("__created")),
        object=pl.lit("ledger_transaction"),
        updated_at=iso(pl.col("recorded_ns")),
        **common,
    )
    return transaction_rows.sort("id"), version_rows.sort("ledger_transaction_id", "version")


def _statements(frames: LedgerFrames, accounts: pl.DataFrame) -> pl.DataFrame:
    effective = frames.transactions.get_column("effective_ns")
    low, high = effective.min(), effective.max()
    if not isinstance(low, int) or not isinstance(high, int):
        return pl.DataFrame()
    lower = low // _DAY * _DAY
    upper = (high // _DAY + 1) * _DAY
    middle = (lower + upper) // 2 // _DAY * _DAY
    bounds = sorted({lower, middle, upper})

    def cells(at: int, known: int) -> pl.DataFrame:
        """Balances before ``at`` (effective) of the versions written by ``known``."""
        ledger = LazyLedger(
            frames.transactions.lazy().filter(pl.col("recorded_ns") <= known),
            frames.entries.lazy(),
            frames.accounts.lazy(),
        )
        return (
            balances_as_of(ledger, at - 1, "effective")
            .collect()
            .select(
                "account_id",
                "asset_id",
                "posted_debits",
                "posted_credits",
                "pending_debits",
                "pending_credits",
            )
        )

    windows = []
    for start, end in pairwise(bounds):
        rows = accounts.select(
            "id", "ledger_id", "account_id", "asset_id", "normal_balance", "currency", "exponent"
        )
        for prefix, at in (("s_", start), ("e_", end)):
            known = cells(at, end)  # a statement says what the ledger knew when it was made
            rows = rows.join(
                known.rename(
                    {
                        c: f"{prefix}{c}"
                        for c in known.columns
                        if c not in ("account_id", "asset_id")
                    }
                ),
                on=["account_id", "asset_id"],
                how="left",
            )
        rows = rows.with_columns(
            pl.col(f"{p}{c}").fill_null(0).cast(pl.Int64)
            for p in ("s_", "e_")
            for c in ("posted_debits", "posted_credits", "pending_debits", "pending_credits")
        )
        windows.append(
            rows.select(
                id=pl.format("las:{}:{}", "id", pl.lit(start)),
                created_at=iso(pl.lit(end)),
                description=pl.lit(None, dtype=pl.String),
                effective_at_lower_bound=iso(pl.lit(start)),
                effective_at_upper_bound=iso(pl.lit(end)),
                ending_balance=_balances("e_"),
                ledger_account_id=pl.col("id"),
                ledger_account_lock_version=pl.lit(0, dtype=pl.Int64),
                ledger_account_normal_balance=pl.col("normal_balance"),
                ledger_id=pl.col("ledger_id"),
                live_mode=pl.lit(value=True),
                metadata=pl.struct(source=pl.lit("ledger-audit demo")),
                object=pl.lit("ledger_account_statement"),
                starting_balance=_balances("s_"),
                updated_at=iso(pl.lit(end)),
            )
        )
    return pl.concat(windows).sort("id")


def write_modern_treasury(frames: LedgerFrames, folder: Path) -> ModernTreasuryExport:
    """Write ``frames`` as ``<endpoint>.json`` files (JSON arrays) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    accounts = _mt_accounts(frames)
    stored = balances_as_of(frames, _END, "recorded").collect()
    versions, legs = _versions(frames)
    # An account's lock version: the entries written to it, archive snapshots included.
    lock = legs.group_by("account_id", "asset_id").agg(pl.len().cast(pl.Int64).alias("__lock"))
    end_ns = frames.transactions.get_column("recorded_ns").max()
    account_rows = (
        accounts.join(
            stored.drop("posted", "available"),
            on=["ledger_id", "account_id", "asset_id"],
            how="left",
        )
        .join(lock, on=["account_id", "asset_id"], how="left")
        .with_columns(
            pl.col(c).fill_null(0).cast(pl.Int64)
            for c in ("posted_debits", "posted_credits", "pending_debits", "pending_credits")
        )
        .select(
            id=pl.col("id"),
            balances=_balances(),
            created_at=iso(pl.col("opened_ns")),
            description=pl.lit(None, dtype=pl.String),
            discarded_at=pl.when(pl.col("closed_ns").is_not_null()).then(iso(pl.col("closed_ns"))),
            external_id=pl.lit(None, dtype=pl.String),
            ledger_id=pl.col("ledger_id"),
            ledgerable_id=pl.lit(None, dtype=pl.String),
            ledgerable_type=pl.lit(None, dtype=pl.String),
            live_mode=pl.lit(value=True),
            lock_version=pl.col("__lock").fill_null(0),
            metadata=pl.struct(canonical_account=pl.col("account_id")),
            name=pl.col("name"),
            normal_balance=pl.col("normal_balance"),
            object=pl.lit("ledger_account"),
            updated_at=iso(pl.lit(end_ns)),
        )
    )
    transactions, version_rows = _objects(versions, legs, accounts)
    ledgers = frames.ledgers.select(
        id=pl.col("ledger_id"),
        created_at=iso(pl.col("created_ns")),
        description=pl.lit(None, dtype=pl.String),
        discarded_at=pl.lit(None, dtype=pl.String),
        live_mode=pl.lit(value=True),
        metadata=pl.struct(source=pl.lit("ledger-audit demo")),
        name=pl.col("name"),
        object=pl.lit("ledger"),
        updated_at=iso(pl.col("created_ns")),
    )
    statements = _statements(frames, accounts)
    for name, frame in (
        ("ledgers", ledgers),
        ("ledger_accounts", account_rows),
        ("ledger_transactions", transactions),
        ("ledger_transaction_versions", version_rows),
        ("ledger_account_statements", statements),
    ):
        (folder / f"{name}.json").write_text(frame.write_json(), encoding="utf-8")
    return ModernTreasuryExport(
        folder=folder,
        accounts=accounts.select("account_id", "asset_id", "id").sort("account_id", "asset_id"),
        transactions=transactions.height,
        versions=version_rows.height,
        statements=statements.height,
        partial_posts=versions.filter(pl.col("partially_posts").is_not_null()).height,
    )


def records(path: Path) -> list[dict[str, Any]]:
    """The records of one written endpoint file (for tests that edit an export)."""
    value = json.loads(path.read_text(encoding="utf-8"))
    return list(value)
