"""Keep each vendor record whole or report it.

Field widths, the ledger map, flag combinations and replays of one id are checked here.

TigerBeetle refuses a transfer as a unit, so the adapter does too: a record with any bad
field (a u128 beyond 2^128 - 1, an amount beyond the canonical 38 digits, a ledger number the
map does not know) is rejected with one rejection row per bad field, naming the file and
line. A second record with an id already seen is a replay: identical, it is the benign
``exists`` answer and merges with the first; different, it is the conflicting
``exists_with_different_*`` TigerBeetle would have refused: the earliest stays, the others are
rejected, and the native check reports the conflict with the fields that differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.adapters.tigerbeetle import fields as f
from ledger_audit.sources.adapters.tigerbeetle.export import (
    ACCOUNT_COLUMNS,
    LINE,
    TRANSFER_COLUMNS,
    USER_DATA,
    ExportConfig,
)
from ledger_audit.sources.ledger_frames import REJECTION_SCHEMA, empty_rejections

_INT64_MAX = str(2**63 - 1)
_U16_MAX = "65535"
_REASON = "__reason"


@dataclass(frozen=True, slots=True, eq=False)
class Screened:
    """One vendor table after screening.

    Attributes:
        rows: the records kept, ids and numbers as canonical decimal text (one per id).
        rejections: REJECTION_SCHEMA rows of the records not kept.
        conflicts: replays with a different body: ``id``, ``line``, ``kept_line``,
            ``fields`` (the fields that differ, comma-separated).
        read: records read.
        merged: identical replays merged into their first record.
    """

    rows: pl.DataFrame
    rejections: pl.DataFrame
    conflicts: pl.DataFrame
    read: int
    merged: int

    @property
    def rejected(self) -> int:
        """Records not kept (each counted once, however many fields were bad)."""
        return self.read - self.merged - self.rows.height


def _id_problem(column: str) -> pl.Expr:
    digits = f.unsigned(column)
    return pl.coalesce(
        f.width_problem(column, f.U128_MAX, "u128"),
        pl.when((digits == "0") | (digits == f.U128_MAX)).then(pl.lit("reserved_id")),
    )


def _amount_problem(column: str, *, amount_max_ok: pl.Expr | None = None) -> pl.Expr:
    digits = f.unsigned(column)
    too_wide = digits.str.len_bytes() > f.MAX_DIGITS
    if amount_max_ok is not None:
        too_wide = too_wide & ~(amount_max_ok & (digits == f.U128_MAX))
    return pl.coalesce(
        f.width_problem(column, f.U128_MAX, "u128"),
        pl.when(too_wide).then(pl.lit("amount_beyond_38_digits")),
    )


def _timestamp_problem() -> pl.Expr:
    return pl.coalesce(
        f.width_problem("timestamp", f.U64_MAX, "u64"),
        pl.when(~f.at_most(f.unsigned("timestamp"), _INT64_MAX)).then(
            pl.lit("timestamp_beyond_int64_ns")
        ),
    )


def _ledger_problem(config: ExportConfig, *, zero_ok: pl.Expr | None = None) -> pl.Expr:
    mapped = f.unsigned("ledger").is_in([number for number, _ in config.ledgers])
    if zero_ok is not None:
        mapped = mapped | (zero_ok & (f.unsigned("ledger") == "0"))
    return pl.coalesce(
        f.width_problem("ledger", f.U32_MAX, "u32"),
        pl.when(~mapped).then(pl.lit("unmapped_ledger")),
    )


def account_problems(config: ExportConfig) -> dict[str, pl.Expr]:
    """Per account column: a reason string where the value cannot be loaded, else null."""
    limits = f.has("flags", f.DEBITS_MUST_NOT_EXCEED_CREDITS) & f.has(
        "flags", f.CREDITS_MUST_NOT_EXCEED_DEBITS
    )
    return {
        "id": _id_problem("id"),
        **{
            cell: _amount_problem(cell)
            for cell in ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
        },
        "ledger": _ledger_problem(config),
        "code": f.width_problem("code", _U16_MAX, "u16"),
        "flags": pl.coalesce(
            pl.when(pl.col("flags").is_null()).then(pl.lit("null_not_allowed")),
            pl.when(limits).then(pl.lit("conflicting_flags")),
        ),
        "timestamp": _timestamp_problem(),
        **_user_data_problems(),
    }


def _user_data_problems() -> dict[str, pl.Expr]:
    limits = {"user_data_128": (f.U128_MAX, "u128"), "user_data_64": (f.U64_MAX, "u64")}
    limits["user_data_32"] = (f.U32_MAX, "u32")
    return {
        column: pl.when(pl.col(column).is_not_null()).then(f.width_problem(column, *limit))
        for column, limit in limits.items()
    }


def transfer_problems(config: ExportConfig) -> dict[str, pl.Expr]:
    """Per transfer column: a reason string where the value cannot be loaded, else null."""
    pending = f.has("flags", f.PENDING)
    post = f.has("flags", f.POST_PENDING)
    void = f.has("flags", f.VOID_PENDING)
    resolves = post | void
    modes = pending.cast(pl.Int8) + post.cast(pl.Int8) + void.cast(pl.Int8)
    pending_id = f.unsigned("pending_id")

    def account(column: str) -> pl.Expr:
        return pl.coalesce(
            f.width_problem(column, f.U128_MAX, "u128"),
            pl.when(~resolves & (f.unsigned(column) == "0")).then(pl.lit("missing_account")),
        )

    return {
        "id": _id_problem("id"),
        "debit_account_id": account("debit_account_id"),
        "credit_account_id": pl.coalesce(
            account("credit_account_id"),
            pl.when(
                (f.unsigned("credit_account_id") == f.unsigned("debit_account_id"))
                & (f.unsigned("credit_account_id") != "0")
            ).then(pl.lit("same_account")),
        ),
        "amount": _amount_problem("amount", amount_max_ok=post),
        "pending_id": pl.coalesce(
            f.width_problem("pending_id", f.U128_MAX, "u128"),
            pl.when(resolves & (pending_id == "0")).then(pl.lit("missing_pending_id")),
            pl.when(~resolves & (pending_id != "0")).then(pl.lit("unexpected_pending_id")),
        ),
        "timeout": f.width_problem("timeout", f.U32_MAX, "u32"),
        "ledger": _ledger_problem(config, zero_ok=resolves),
        "code": f.width_problem("code", _U16_MAX, "u16"),
        "flags": pl.coalesce(
            pl.when(pl.col("flags").is_null()).then(pl.lit("null_not_allowed")),
            pl.when(modes > 1).then(pl.lit("conflicting_flags")),
        ),
        "timestamp": _timestamp_problem(),
        **_user_data_problems(),
    }


def _rejections(bad: pl.DataFrame, table: str, path: str) -> pl.DataFrame:
    if bad.height == 0:
        return empty_rejections()
    return bad.select(
        pl.lit(path).alias("source"),
        pl.lit(table).alias("table"),
        pl.format("line {}", LINE).alias("locator"),
        pl.col("__column").alias("column"),
        pl.col(_REASON).alias("reason"),
        pl.col("__raw").alias("raw_value"),
    ).cast(pl.Schema(REJECTION_SCHEMA))


def _bad_cells(frame: pl.DataFrame, problems: dict[str, pl.Expr]) -> tuple[pl.DataFrame, pl.Series]:
    """One row per failing cell (LINE, column, reason, raw value), and the per-row bad mask."""
    found = frame.select(LINE, *(expr.alias(column) for column, expr in problems.items()))
    bad = found.select(pl.any_horizontal(pl.col(c).is_not_null() for c in problems)).to_series()
    parts = [
        found.filter(bad)
        .select(LINE, pl.lit(column).alias("__column"), pl.col(column).alias(_REASON))
        .join(frame.select(LINE, pl.col(column).alias("__raw")), on=LINE, how="left")
        .filter(pl.col(_REASON).is_not_null())
        for column in problems
    ]
    cells = pl.concat(parts).sort(LINE, maintain_order=True) if parts else pl.DataFrame()
    return cells, bad


def screen(
    frame: pl.DataFrame,
    problems: dict[str, pl.Expr],
    *,
    table: str,
    path: str,
    numeric: tuple[str, ...],
) -> Screened:
    """Reject records with bad fields, merge identical replays, reject conflicting ones."""
    digits = (*numeric, *USER_DATA)
    frame = f.with_digits(frame, digits)
    cells, bad = _bad_cells(frame, problems)
    rejections = [_rejections(cells, table, path)] if cells.height else []
    good = (
        frame.filter(~bad)
        .with_columns(f.unsigned(c).alias(c) for c in digits)
        .drop(f"{f.DIGITS}{c}" for c in digits)
    )
    body = [c for c in good.columns if c != LINE]
    # A replay: same id again. Order by timestamp then line: the earliest is what was stored.
    ordered = good.with_columns(pl.col("timestamp").cast(pl.Int64).alias("__ts")).sort("__ts", LINE)
    first = ordered.unique("id", keep="first", maintain_order=True)
    identical = ordered.join(first, on=body, how="semi").join(
        first.select(LINE), on=LINE, how="anti"
    )
    others = ordered.join(first.select(LINE), on=LINE, how="anti").join(
        identical.select(LINE), on=LINE, how="anti"
    )
    conflicts = _conflicts(others, first, body)
    if others.height:
        rejections.append(
            _rejections(
                others.select(
                    LINE,
                    pl.lit("id").alias("__column"),
                    pl.lit("conflicting_replay").alias(_REASON),
                    pl.col("id").alias("__raw"),
                ),
                table,
                path,
            )
        )
    return Screened(
        rows=first.drop("__ts").sort(LINE),
        rejections=pl.concat(rejections) if rejections else empty_rejections(),
        conflicts=conflicts,
        read=frame.height,
        merged=identical.height,
    )


def _conflicts(others: pl.DataFrame, first: pl.DataFrame, body: list[str]) -> pl.DataFrame:
    """Which fields of each conflicting replay differ from the record kept."""
    kept = first.select(
        "id",
        pl.col(LINE).alias("kept_line"),
        *(pl.col(c).alias(f"k_{c}") for c in body if c != "id"),
    )
    joined = others.join(kept, on="id", how="left")
    differing = pl.concat_str(
        [
            pl.when(pl.col(c).ne_missing(pl.col(f"k_{c}"))).then(pl.lit(c))
            for c in body
            if c != "id"
        ],
        separator=", ",
        ignore_nulls=True,
    )
    return joined.select("id", pl.col(LINE).alias("line"), "kept_line", differing.alias("fields"))


ACCOUNT_NUMERIC = ACCOUNT_COLUMNS
TRANSFER_NUMERIC = TRANSFER_COLUMNS
