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

from collections.abc import Callable, Mapping, Sequence
from functools import partial

import polars as pl

from ledger_audit.gather import gather
from ledger_audit.replay.balances import SUM_AMOUNT
from ledger_audit.replay.key_order import rows_in_key_order
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources.invariant_sql import VERSION_FIELDS
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.spill import spilled_columns

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


_VERSION_FIELDS = (*VERSION_FIELDS, "recorded_ns")
_ENTRY_FIELDS = ("account_id", "asset_id", "direction", "amount")
_ORDER = ("ledger_id", "chain_seq", "transaction_id", "version", "entry_index")
"""The order of the legs: chain order (rows without a seq last), then entry by entry."""


def _row_numbers(frame: pl.DataFrame, *keys: str | pl.Expr, name: str) -> pl.DataFrame:
    return frame.select(*keys, pl.int_range(pl.len(), dtype=pl.UInt32()).alias(name))


def _pairs_joined(versions: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame:
    """Each leg's version row ``_v`` and entry row ``_e`` (either may be null), in _ORDER."""
    version = pl.col("version").cast(pl.Int64())
    pairs = _row_numbers(versions, *TX, version, name="_v").join(
        _row_numbers(entries, *TX, version, name="_e"), on=list(VERSION), how="full", coalesce=True
    )
    return pairs.with_columns(
        versions.get_column("chain_seq").gather(pairs.get_column("_v")),
        entries.get_column("entry_index").cast(pl.Int64()).gather(pairs.get_column("_e")),
    ).sort(_ORDER, nulls_last=True, maintain_order=True)


def _pairs_in_key_order(versions: pl.DataFrame, entries: pl.DataFrame) -> pl.DataFrame | None:
    """``_pairs_joined``'s frame without a join or a sort on text, or None where it cannot.

    Loaders give both tables in key order, and then a version's entries are one run: when
    the runs' keys are the versions' keys, one for one and in the same order (no orphan
    entry, no version without entries: a sound ledger), run k is version k. The legs'
    order is then the versions' chain order (ledger, seq, then key order, which is the
    versions' row number) with each run's entries as they come (entry_index rising), so
    only integers are sorted. Anything else (rows out of order, a damaged ledger) gives None.
    """
    if versions.is_empty() or entries.is_empty():
        return None
    if not rows_in_key_order(versions, VERSION):
        return None
    if not rows_in_key_order(entries, (*VERSION, "entry_index")):
        return None
    opens = pl.any_horizontal(
        (pl.col(c) != pl.col(c).shift(1)).fill_null(value=True) for c in VERSION
    )
    runs = entries.select((opens.cum_sum() - 1).cast(pl.UInt32()).alias("_v"), opens.alias("o"))
    heads = entries.filter(runs.get_column("o")).select(VERSION)
    if not heads.equals(versions.select(VERSION)):
        return None
    # chain order of the versions: the ledger's rank (its runs, in text order), the seq
    # (nulls last) and the row number (key order within a ledger). One stable sort per key,
    # the last first: polars 2.1 sorts by three integer keys at once eight times slower
    ledger_opens = (pl.col("ledger_id") != pl.col("ledger_id").shift(1)).fill_null(value=True)
    order = (
        versions.select(
            ledger_opens.cum_sum().alias("ledger"),
            "chain_seq",
            pl.int_range(pl.len(), dtype=pl.UInt32()).alias("_v"),
        )
        .sort("chain_seq", nulls_last=True, maintain_order=True)
        .sort("ledger", maintain_order=True)
        .get_column("_v")
    )
    rank = pl.zeros(versions.height, dtype=pl.UInt32(), eager=True).scatter(
        order, pl.int_range(versions.height, dtype=pl.UInt32(), eager=True)
    )
    at_version = runs.get_column("_v")
    legs_order = (
        pl.DataFrame({"rank": rank.gather(at_version)})
        .with_row_index("_e")
        .sort("rank", maintain_order=True)
        .get_column("_e")
    )
    at_version = at_version.gather(legs_order)
    version = entries.get_column("version").cast(pl.Int64())
    return pl.DataFrame(
        [
            gather(entries.get_column("ledger_id"), legs_order),
            gather(entries.get_column("transaction_id"), legs_order),
            version.gather(legs_order),
            at_version.alias("_v"),
            legs_order.cast(pl.UInt32()).alias("_e"),
            versions.get_column("chain_seq").gather(at_version),
            entries.get_column("entry_index").cast(pl.Int64()).gather(legs_order),
        ]
    )


def prepare_legs(frames: LedgerFrames) -> pl.DataFrame:
    """The ``legs`` table of a loaded ledger (see the module docstring); ``legs_schema``.

    The joins carry only the keys and row numbers, and every column is then gathered once
    from its table by those numbers, in legs order: joining the whole rows kept both sides'
    gathered columns and the join's own copies alive at once (over the 1M demo 1.9 GiB above
    the frames for a 0.6 GiB result; this way 1.0 GiB, the same frame).
    """
    schema = legs_schema(frames.entries.schema["amount"])
    versions, entries, accounts = frames.transactions, frames.entries, frames.accounts
    pairs = _pairs_in_key_order(versions, entries)
    if pairs is None:
        pairs = _pairs_joined(versions, entries)
    at_version, at_entry = pairs.get_column("_v"), pairs.get_column("_e")
    account_id = gather(entries.get_column("account_id"), at_entry)
    at_account = (
        pl.DataFrame([pairs.get_column("ledger_id"), account_id])
        .join(
            _row_numbers(accounts, "ledger_id", "account_id", name="_a"),
            on=["ledger_id", "account_id"],
            how="left",
            maintain_order="left",
        )
        .get_column("_a")
    )
    at_asset = (
        gather(entries.get_column("asset_id"), at_entry)
        .to_frame()
        .join(
            _row_numbers(frames.assets, "asset_id", name="_s"),
            on="asset_id",
            how="left",
            maintain_order="left",
        )
        .get_column("_s")
    )
    normal = gather(accounts.get_column("normal_balance"), at_account)
    scale = frames.assets.get_column("scale").cast(pl.Int64()).gather(at_asset)
    has_entry = at_entry.is_not_null()
    checks = pl.DataFrame([has_entry.alias("e"), at_account, normal, at_asset, scale]).select(
        pl.when(~pl.col("e"))
        .then(None)
        .when(pl.col("_a").is_null())
        .then(pl.lit("unknown"))
        .otherwise(pl.col("normal_balance"))
        .alias("account_check"),
        pl.when(~pl.col("e"))
        .then(None)
        .when(pl.col("_s").is_null())
        .then(pl.lit(-1))
        .otherwise(pl.col("scale"))
        .alias("asset_check"),
    )
    # each column is made only when its turn comes, so inside a close's spill area the
    # legs leave the heap a group of columns at a time (``spilled_columns``): at 1M they
    # are 0.6 GiB, and held whole until spilled they set the audit's peak
    columns: dict[str, Callable[[], pl.Series]] = {
        **{n: partial(pairs.get_column, n) for n in (*VERSION, "chain_seq", "entry_index")},
        "has_version": lambda: at_version.is_not_null().cast(pl.Int64()),
        **{n: partial(gather, versions.get_column(n), at_version) for n in _VERSION_FIELDS},
        "account_id": lambda: account_id,
        **{n: partial(gather, entries.get_column(n), at_entry) for n in _ENTRY_FIELDS[1:]},
        "account_asset_id": partial(gather, accounts.get_column("asset_id"), at_account),
        "account_check": partial(checks.get_column, "account_check"),
        "allow_negative": lambda: (
            accounts.get_column("allow_negative").cast(pl.Int64()).gather(at_account)
        ),
        "normal_balance": lambda: normal,
        "asset_check": partial(checks.get_column, "asset_check"),
    }
    return spilled_columns(columns[n]().cast(dtype).alias(n) for n, dtype in schema.items())
