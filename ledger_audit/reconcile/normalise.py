"""Both sides put in a total order and given the columns every matching stage uses.

The ledger items (``internal.INTERNAL_SCHEMA``) are sorted by their entry key and numbered
``i``; the external records (``RECORD_SCHEMA``) are sorted by ``(file, record_id)`` and
numbered ``x``. Every later step breaks ties by these numbers, so the result depends on the
rows and never on the order they came in.

References are compared after normalisation: trimmed, upper-cased, ``;``-joined lists
split (camt.053 joins several end-to-end ids), placeholders (``NOTPROVIDED``) dropped.
Reference *tokens* (for the stage-3 similarity) are upper-cased runs of letters and digits,
four characters at least, holding a digit: ``ACH`` or ``CREDIT`` say nothing about which
payment it is, ``00012345`` or ``PO1NXA7`` do.

With a period (first and last day), both sides are cut to the reconciliation's window: from
``lookback`` days before the first day to the last day. A record booked, or an item dated,
outside it is neither matched nor classified; it is counted (``WorkFrames.outside_records``,
``outside_items``) so the result can say so (see ``match``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.reconcile.internal import INTERNAL_SCHEMA, ITEM_KEY
from ledger_audit.sources.bank.records import RECORD_SCHEMA
from ledger_audit.sources.match_rules import MatchRules

STRONG_INTERNAL = ("external_id", "idempotency_key", "transaction_id")
"""Ledger references a stage-1 key may equal, most telling first."""

STRONG_EXTERNAL = ("end_to_end_id", "customer_ref", "tx_id", "bank_ref", "payout_id")
"""Record references a stage-1 key may equal, most telling first."""

GROUP_INTERNAL = ("batch_key", "external_id", "idempotency_key")
"""Ledger references that may name a batch (stage 4)."""

GROUP_EXTERNAL = ("payout_id", "batch_key", "end_to_end_id", "customer_ref", "tx_id", "bank_ref")
"""Record references that may name a batch (stage 4)."""

TOKEN_INTERNAL = ("external_id", "idempotency_key", "transaction_id", "description")
TOKEN_EXTERNAL = (
    "bank_ref",
    "customer_ref",
    "end_to_end_id",
    "tx_id",
    "payout_id",
    "batch_key",
    "text",
)

PLACEHOLDERS = ("", "NOTPROVIDED", "NONREF", "NONE", "N/A")
"""Reference values that mean "no reference"."""

SIGNATURE = (
    "account_ref",
    "asset_id",
    "amount",
    "booking_date",
    "value_date",
    "reversal",
    "bank_ref",
    "customer_ref",
    "end_to_end_id",
    "tx_id",
    "payout_id",
    "counterparty",
    "text",
    "type_code",
    "batch_key",
)
"""What makes two records identical (a duplicate), whatever their file, line and id."""

_DAY = pl.Int32()


@dataclass(frozen=True, slots=True, eq=False)
class WorkFrames:
    """Both sides in total order, numbered, with the derived columns of the stages.

    Attributes:
        internal: the ledger items with ``i``, ``days``, ``sign``, ``days_before`` and
            ``days_after`` (the item's rail window).
        external: the matchable records (booked, on a mapped account) with ``x``,
            ``account_id``, ``date`` (booking date), ``days`` and ``sign``.
        excluded: records kept out of matching, with ``x`` and ``reason``
            (``unmapped_account`` or ``not_booked``).
        outside_records: records booked outside the window (neither matched nor classified).
        outside_items: ledger items dated outside the window (likewise).
    """

    internal: pl.DataFrame
    external: pl.DataFrame
    excluded: pl.DataFrame
    outside_records: int = 0
    outside_items: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    """The days a reconciliation covers: the period, and a lookback before it.

    Attributes:
        first_day: the period's first day.
        last_day: the period's last day: anything later belongs to the next period.
        lookback: days before ``first_day`` still reconciled (items in transit at the
            previous period's end, bank lines booked before their ledger item).
    """

    first_day: dt.date
    last_day: dt.date
    lookback: int = 0

    def __post_init__(self) -> None:
        if self.last_day < self.first_day or self.lookback < 0:
            raise InputError(
                "period",
                f"{self.first_day}..{self.last_day} (lookback {self.lookback}) is not a period",
            )

    @property
    def start(self) -> dt.date:
        """The window's first day (the period's first day less the lookback)."""
        return self.first_day - dt.timedelta(days=self.lookback)

    def holds(self, day: pl.Expr) -> pl.Expr:
        """Whether a date lies in the window (null dates do not)."""
        return day.is_between(pl.lit(self.start), pl.lit(self.last_day)).fill_null(value=False)


def prepare(
    items: pl.DataFrame,
    records: pl.DataFrame,
    rules: MatchRules,
    *,
    window: Window | None = None,
) -> WorkFrames:
    """Sort, number and extend both sides, cut to ``window`` (see the module docstring)."""
    if dict(items.schema) != INTERNAL_SCHEMA:
        raise InputError("internal items", f"schema {dict(items.schema)} is not INTERNAL_SCHEMA")
    if dict(records.schema) != RECORD_SCHEMA:
        raise InputError("external records", f"schema {dict(records.schema)} is not RECORD_SCHEMA")
    dupes = records.group_by("file", "record_id").len().filter(pl.col("len") > 1)
    if dupes.height:
        first = dupes.sort("file", "record_id").row(0, named=True)
        raise InputError(
            f"{first['file']}",
            f"record_id {first['record_id']!r} appears {first['len']} times in one file",
        )
    outside_items = outside_records = 0
    if window is not None:
        inside_i, inside_x = window.holds(pl.col("date")), window.holds(pl.col("booking_date"))
        outside_items = items.height - items.filter(inside_i).height
        outside_records = records.height - records.filter(inside_x).height
        items, records = items.filter(inside_i), records.filter(inside_x)
    internal = (
        items.sort(list(ITEM_KEY))
        .with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64()))
        .join(rules.rail_frame(), on="rail", how="left")
        .with_columns(
            pl.col("date").cast(_DAY).alias("days"),
            pl.col("amount").sign().cast(pl.Int8()).alias("sign"),
        )
        .sort("i")
    )
    mapping = rules.account_frame().select("account_ref", "asset_id", "account_id").unique()
    numbered = (
        records.sort("file", "record_id")
        .with_row_index("x")
        .with_columns(pl.col("x").cast(pl.Int64()))
        .join(mapping, on=["account_ref", "asset_id"], how="left")
        .with_columns(
            pl.col("booking_date").alias("date"),
            pl.col("booking_date").cast(_DAY).alias("days"),
            pl.col("amount").sign().cast(pl.Int8()).alias("sign"),
            pl.when(pl.col("account_id").is_null())
            .then(pl.lit("unmapped_account"))
            .when(pl.col("status").is_not_null() & (pl.col("status") != "BOOK"))
            .then(pl.lit("not_booked"))
            .alias("reason"),
        )
        .sort("x")
    )
    return WorkFrames(
        internal=internal,
        external=numbered.filter(pl.col("reason").is_null()).drop("reason"),
        excluded=numbered.filter(pl.col("reason").is_not_null()),
        outside_records=outside_records,
        outside_items=outside_items,
    )


def normalised(expr: pl.Expr) -> pl.Expr:
    """A reference value trimmed and upper-cased."""
    return expr.str.strip_chars().str.to_uppercase()


def references(
    frame: pl.DataFrame, id_col: str, columns: tuple[str, ...], *, split: bool
) -> pl.DataFrame:
    """Long frame (id, account_ref, asset_id, amount, column, priority, ref) of references.

    ``priority`` is the column's place in ``columns``; ``split`` splits ``;``-joined lists.
    One row per (id, ref), keeping the most telling column. Each column's non-null values
    are stacked first and the row's account, asset and amount joined to what is left: an
    unpivot copied them for every column, null or not (at 1M: 0.15 GiB more and twice the
    time for the key stage's references).
    """
    keep = [id_col, "account_ref", "asset_id", "amount"]
    long = pl.concat(
        frame.lazy()
        .select(
            id_col,
            pl.lit(name).alias("column"),
            pl.col(name).cast(pl.String()).alias("ref"),
            pl.lit(priority, dtype=pl.Int32()).alias("priority"),
        )
        .filter(pl.col("ref").is_not_null())
        for priority, name in enumerate(columns)
    )
    if split:
        long = long.with_columns(pl.col("ref").str.split(";")).explode("ref")
    return (
        long.with_columns(normalised(pl.col("ref")).alias("ref"))
        .filter(pl.col("ref").is_not_null() & ~pl.col("ref").is_in(PLACEHOLDERS))
        .sort(id_col, "ref", "priority")
        .unique([id_col, "ref"], keep="first", maintain_order=True)
        .join(frame.lazy().select(keep), on=id_col, how="left", maintain_order="left")
        .select(*keep, "column", "ref", "priority")
        .collect()
    )


def tokens(frame: pl.DataFrame, id_col: str, columns: tuple[str, ...]) -> pl.DataFrame:
    """Long frame (id, token) of the reference tokens of each row, unique, sorted."""
    text = pl.concat_str(
        [pl.col(c).cast(pl.String()) for c in columns], separator=" ", ignore_nulls=True
    )
    return (
        frame.select(
            pl.col(id_col), text.str.to_uppercase().str.extract_all(r"[A-Z0-9]+").alias("token")
        )
        .explode("token")
        .filter(
            pl.col("token").is_not_null()
            & (pl.col("token").str.len_chars() >= 4)  # noqa: PLR2004 (shorter says nothing)
            & pl.col("token").str.contains(r"[0-9]")
        )
        .unique()
        .sort(id_col, "token")
    )
