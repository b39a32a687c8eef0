"""Write canonical frames (the demo ledger) as a TigerBeetle export folder.

TigerBeetle's model, as its reference docs state it (docs/reference/account.md, transfer.md;
flag bits from ``AccountFlags``/``TransferFlags`` in src/tigerbeetle.zig):

- an account lives on one ledger (asset), so a multi-asset canonical account becomes one
  TigerBeetle account per asset it uses; ids are u128 decimal strings numbered in order
  (``2`` or ``1`` then 30 digits: beyond int64 on purpose);
- a transfer debits one account and credits one: a canonical version with more legs becomes
  a chain of ``linked`` transfers pairing its debits with its credits per asset;
- a pending version is a ``pending`` transfer, its posting a ``post_pending_transfer`` (the
  posted amount, ``pending_id`` naming it), its void a ``void_pending_transfer`` (the pending
  amount, as TigerBeetle stores it);
- timestamps are unique and strictly increasing (the recorded time, nudged up by a
  nanosecond where two would tie);
- the account counters are what TigerBeetle keeps: posted sums, and pending sums of pending
  transfers not yet resolved.

Canonical kinds TigerBeetle has no word for (reversal, adjustment, opening) become ordinary
transfers; descriptions and external ids are not written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from ledger_audit.sources.ledger_frames import LedgerFrames

VERSION = "0.16.59"
_ACCOUNT_PREFIX = 2
_TRANSFER_PREFIX = 1
_KEY = ("transaction_id", "version")
_LEG = (*_KEY, "asset_id")
_LINKED, _PENDING, _POST, _VOID = 1, 2, 4, 8
_CREDIT_LIMIT, _DEBIT_LIMIT, _CLOSED = 2, 4, 32
_CODE = {"debit": 1, "credit": 2}


@dataclass(frozen=True, slots=True, eq=False)
class TigerBeetleExport:
    """What was written.

    Attributes:
        folder: the export folder.
        accounts: canonical ``account_id``, ``asset_id`` -> TigerBeetle ``id`` (decimal text).
        ledgers: canonical ``asset_id`` -> TigerBeetle ``ledger`` number.
        transfers: the transfers written.
    """

    folder: Path
    accounts: pl.DataFrame
    ledgers: pl.DataFrame
    transfers: int


def numbered_id(prefix: int, index: pl.Expr) -> pl.Expr:
    """A u128 id beyond int64 on purpose: ``prefix`` then the index on 30 digits."""
    return pl.format(f"{prefix}{{}}", index.cast(pl.String).str.zfill(30))


def pair_legs(entries: pl.DataFrame) -> pl.DataFrame:
    """Debits paired with credits per version and asset, splitting amounts where needed.

    Each side is laid out as intervals of a running total; every boundary of either side cuts
    a segment, and each segment moves from the debit to the credit whose intervals hold it.
    """

    def side(direction: str) -> pl.DataFrame:
        return (
            entries.filter(pl.col("direction") == direction)
            .sort(*_LEG, "entry_index")
            .with_columns(pl.col("amount").cum_sum().over(_LEG).alias("hi"))
            .select(*_LEG, "hi", "account_id")
        )

    debit_side, credit_side = side("debit"), side("credit")
    bounds = (
        pl.concat([debit_side.select(*_LEG, "hi"), credit_side.select(*_LEG, "hi")])
        .unique()
        .sort(*_LEG, "hi")
        .with_columns(
            (pl.col("hi") - pl.col("hi").shift(1, fill_value=0).over(_LEG)).alias("amount")
        )
    )

    def covering(side_frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return bounds.join_asof(
            side_frame.rename({"account_id": name}).sort("hi"),
            on="hi",
            by=list(_LEG),
            strategy="forward",
            check_sortedness=False,  # sorted by hi within each group, as the join needs
        )

    segments = covering(debit_side, "debit_account").sort(*_LEG, "hi")
    segments = segments.join(
        covering(credit_side, "credit_account").select(*_LEG, "hi", "credit_account"),
        on=[*_LEG, "hi"],
        how="left",
    )
    return (
        segments.filter(
            pl.col("debit_account").is_not_null() & pl.col("credit_account").is_not_null()
        )
        .sort(*_LEG, "hi")
        .with_columns(pl.int_range(pl.len()).over(_KEY).alias("k"))
    )


def _tb_accounts(frames: LedgerFrames) -> pl.DataFrame:
    used = pl.concat(
        [
            frames.entries.select("account_id", "asset_id"),
            frames.balances.select("account_id", "asset_id"),
        ]
    ).unique()
    single = frames.accounts.filter(pl.col("asset_id").is_not_null()).select(
        "account_id", "asset_id"
    )
    pairs = pl.concat([single, used]).unique().sort("account_id", "asset_id")
    return pairs.join(
        frames.accounts.select(
            "account_id", "normal_balance", "allow_negative", "opened_ns", "closed_ns"
        ),
        on="account_id",
        how="left",
    ).with_columns(numbered_id(_ACCOUNT_PREFIX, pl.int_range(pl.len())).alias("id"))


def _transfers(
    frames: LedgerFrames, accounts: pl.DataFrame, ledger_of: dict[str, int]
) -> pl.DataFrame:
    versions = frames.transactions.select(*_KEY, "status", "recorded_ns")
    pairs = pair_legs(frames.entries).join(versions, on=list(_KEY), how="left")
    for side in ("debit_account", "credit_account"):
        ids = accounts.select(
            pl.col("account_id").alias(side), "asset_id", pl.col("id").alias("__id")
        )
        pairs = (
            pairs.join(ids, on=[side, "asset_id"], how="left")
            .with_columns(pl.col("__id").alias(side))
            .drop("__id")
        )
    pairs = pairs.sort("recorded_ns", *_KEY, "k").with_columns(
        numbered_id(_TRANSFER_PREFIX, pl.int_range(pl.len())).alias("id")
    )
    first = pairs.filter(pl.col("version") == 0).select(
        "transaction_id", "k", pl.col("id").alias("first_version_id")
    )
    pairs = pairs.join(first, on=["transaction_id", "k"], how="left")
    later = pl.col("version") > 0
    mode = (
        pl.when(~later & (pl.col("status") == "pending"))
        .then(_PENDING)
        .when(later & (pl.col("status") == "posted"))
        .then(_POST)
        .when(later & (pl.col("status") == "archived"))
        .then(_VOID)
        .otherwise(0)
    )
    ordered = pairs.sort("recorded_ns", *_KEY, "k").with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("i")
    )
    last = pl.col("k") == pl.col("k").max().over(_KEY)
    resolving = mode.is_in([_POST, _VOID])
    return ordered.select(
        "id",
        pl.col("debit_account"),
        pl.col("credit_account"),
        pl.col("amount").cast(pl.String),
        pl.when(resolving)
        .then(pl.col("first_version_id"))
        .otherwise(pl.lit("0"))
        .alias("pending_id"),
        pl.lit("0").alias("user_data_128"),
        pl.lit("0").alias("user_data_64"),
        pl.lit(0, dtype=pl.Int64).alias("user_data_32"),
        pl.lit(0, dtype=pl.Int64).alias("timeout"),
        pl.col("asset_id").replace_strict(ledger_of, return_dtype=pl.Int64).alias("ledger"),
        pl.lit(1, dtype=pl.Int64).alias("code"),
        (mode + pl.when(last).then(0).otherwise(_LINKED)).cast(pl.Int64).alias("flags"),
        ((pl.col("recorded_ns") - pl.col("i")).cum_max() + pl.col("i")).alias("timestamp"),
        mode.alias("__mode"),
    )


def _counters(transfers: pl.DataFrame, account_ids: pl.Series) -> pl.DataFrame:
    resolved = transfers.filter(pl.col("__mode").is_in([_POST, _VOID])).select(
        pl.col("pending_id").alias("id")
    )
    live = transfers.join(resolved, on="id", how="anti")
    posted = pl.col("__mode").is_in([0, _POST])
    pending = pl.col("__mode") == _PENDING
    cells = []
    for side, column in (("debits", "debit_account"), ("credits", "credit_account")):
        amount = pl.col("amount").cast(pl.Decimal(38, 0))
        cells.append(
            live.group_by(pl.col(column).alias("id")).agg(
                amount.filter(posted).sum().alias(f"{side}_posted"),
                amount.filter(pending).sum().alias(f"{side}_pending"),
            )
        )
    frame = pl.DataFrame({"id": account_ids})
    for part in cells:
        frame = frame.join(part, on="id", how="left")
    return frame.with_columns(
        pl.col(c).fill_null(0).cast(pl.String)
        for c in ("debits_posted", "debits_pending", "credits_posted", "credits_pending")
    )


def write_tigerbeetle(
    frames: LedgerFrames, folder: Path, *, fmt: Literal["jsonl", "csv"] = "jsonl"
) -> TigerBeetleExport:
    """Write ``frames`` as ``accounts``/``transfers`` files and ``ledgers.toml`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    assets = sorted(frames.assets.get_column("asset_id").to_list())
    ledger_of = {asset: number for number, asset in enumerate(assets, start=1)}
    accounts = _tb_accounts(frames)
    transfers = _transfers(frames, accounts, ledger_of)
    counters = _counters(transfers, accounts.get_column("id"))
    credit = pl.col("normal_balance") == "credit"
    no_negative = ~pl.col("allow_negative")
    ordered = accounts.sort("opened_ns", "id").with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("i")
    )
    tb_accounts = ordered.join(counters, on="id", how="left").select(
        "id",
        "debits_pending",
        "debits_posted",
        "credits_pending",
        "credits_posted",
        pl.lit("0").alias("user_data_128"),
        pl.lit("0").alias("user_data_64"),
        pl.lit(0, dtype=pl.Int64).alias("user_data_32"),
        pl.col("asset_id").replace_strict(ledger_of, return_dtype=pl.Int64).alias("ledger"),
        pl.col("normal_balance").replace_strict(_CODE, return_dtype=pl.Int64).alias("code"),
        (
            pl.when(no_negative & credit)
            .then(_CREDIT_LIMIT)
            .when(no_negative)
            .then(_DEBIT_LIMIT)
            .otherwise(0)
            + pl.when(pl.col("closed_ns").is_not_null()).then(_CLOSED).otherwise(0)
        )
        .cast(pl.Int64)
        .alias("flags"),
        ((pl.col("opened_ns") - pl.col("i")).cum_max() + pl.col("i")).alias("timestamp"),
    )
    out = transfers.drop("__mode").rename(
        {"debit_account": "debit_account_id", "credit_account": "credit_account_id"}
    )
    for name, frame in (("accounts", tb_accounts), ("transfers", out)):
        if fmt == "csv":
            frame.write_csv(folder / f"{name}.csv")
        else:
            frame.write_ndjson(folder / f"{name}.jsonl")
    ledger_lines = "\n".join(f'{n} = "{asset}"' for asset, n in ledger_of.items())
    (folder / "ledgers.toml").write_text(
        f'[source]\nversion = "{VERSION}"\ncluster = "0"\n\n'
        f"[ledgers]\n{ledger_lines}\n\n"
        '[codes]\n1 = "debit"\n2 = "credit"\n',
        encoding="utf-8",
    )
    return TigerBeetleExport(
        folder=folder,
        accounts=accounts.select("account_id", "asset_id", "id").sort("account_id", "asset_id"),
        ledgers=pl.DataFrame(
            {"asset_id": list(ledger_of), "ledger": list(ledger_of.values())},
            schema={"asset_id": pl.String, "ledger": pl.Int64},
        ),
        transfers=out.height,
    )
