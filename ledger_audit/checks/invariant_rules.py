"""The invariants of DESIGN.md section 5 over one prepared frame, in polars (no GX here).

The great-expectations suites run on one prepared table, ``legs``: every entry joined with
its transaction version, its account and its asset, plus one row (entry columns null) for a
version without entries and one row (version columns null, ``has_version`` 0) for an entry
that belongs to no version. The frame path builds it with :func:`prepare_legs`; the SQL path
builds the same rows in the database (``ledger_audit.sources.invariant_sql``).

Each custom invariant reduces ``legs`` to its violations: rows of VIOLATION_SCHEMA, one per
finding-to-be (a chain gap is one row for the whole gap). The SQL path computes the same rows
with the same rules; the tests hold the two equal.

Chain order is ``chain_seq`` (rows without one last), then transaction id and version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

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


def _exact_text(name: str) -> pl.Expr:
    """An integer's text, or the SQL path's ``hi:lo`` pair (hi * 2^32 + lo), as SUM_AMOUNT."""
    halves = pl.col(name).str.split(":")
    hi = halves.list.get(0, null_on_oob=True).cast(pl.Int128())
    lo = halves.list.get(1, null_on_oob=True).cast(pl.Int128())
    exact = pl.when(lo.is_null()).then(hi).otherwise(hi * (1 << 32) + lo)
    return exact.cast(SUM_AMOUNT)


VIOLATION_KEY = ("ledger_id", "chain_seq", "transaction_id", "version", "asset_id", "account_id")
"""The order violations are returned in (both paths)."""

TX = ("ledger_id", "transaction_id")
VERSION = (*TX, "version")
LEG = ("account_id", "asset_id", "direction", "amount")
TERMINAL = ("posted", "archived")
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


# --- helpers ------------------------------------------------------------------------------


def _versions(legs: pl.LazyFrame) -> pl.LazyFrame:
    """One row per stored version, with its position in its ledger (``pos``, from 1).

    The position is the chain's order; a ledger without a chain (a mapped source that keeps
    none) is replayed in the order it recorded its versions, ties by id.
    """
    return (
        legs.filter(pl.col("has_version") == 1)
        .select(
            *VERSION,
            "kind",
            "status",
            "pending_transaction_id",
            "reverses_transaction_id",
            "idempotency_key",
            "external_id",
            "chain_seq",
            "recorded_ns",
        )
        .unique(list(VERSION), keep="first")
        .sort("ledger_id", "chain_seq", "recorded_ns", "transaction_id", "version", nulls_last=True)
        .with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64()).over("ledger_id").alias("pos")
        )
    )


def _entries(legs: pl.LazyFrame) -> pl.LazyFrame:
    """The entries of stored versions."""
    return legs.filter((pl.col("has_version") == 1) & pl.col("entry_index").is_not_null())


def _differs(
    pairs: pl.LazyFrame, entries: pl.LazyFrame, key: tuple[str, ...], *, flip: bool
) -> pl.LazyFrame:
    """Rows of ``pairs`` whose ``a`` version's legs differ from its ``b`` version's as multisets.

    ``pairs`` holds ``key`` plus ``a_transaction_id, a_version, b_transaction_id, b_version``;
    with ``flip`` the ``b`` legs count with their directions swapped.
    """
    legs = entries.select(*VERSION, *LEG)

    def side(prefix: str, weight: int) -> pl.LazyFrame:
        joined = pairs.select(*key, f"{prefix}transaction_id", f"{prefix}version").join(
            legs,
            left_on=["ledger_id", f"{prefix}transaction_id", f"{prefix}version"],
            right_on=list(VERSION),
            how="inner",
        )
        if flip and prefix == "b_":
            joined = joined.with_columns(
                pl.when(pl.col("direction") == "debit")
                .then(pl.lit("credit"))
                .when(pl.col("direction") == "credit")
                .then(pl.lit("debit"))
                .otherwise(pl.col("direction"))
                .alias("direction")
            )
        return joined.select(*key, *LEG, pl.lit(weight, dtype=pl.Int64()).alias("_w"))

    unequal = (
        pl.concat([side("a_", 1), side("b_", -1)])
        .group_by(*key, *LEG)
        .agg(pl.col("_w").sum())
        .filter(pl.col("_w") != 0)
        .select(*key)
        .unique()
    )
    return pairs.join(unequal, on=list(key), how="semi")


def _signed(debit_sign: int) -> pl.Expr:
    return (
        pl.when(pl.col("direction") == "debit")
        .then(pl.col("amount") * debit_sign)
        .when(pl.col("direction") == "credit")
        .then(-pl.col("amount") * debit_sign)
        .otherwise(0)
    )


def _total(expr: pl.Expr) -> pl.Expr:
    """An exact sum of minor units, Decimal(38, 0): past int64 it is a number, not a crash."""
    return expr.cast(SUM_AMOUNT).sum()


def _amount(direction: str) -> pl.Expr:
    return _total(pl.when(pl.col("direction") == direction).then(pl.col("amount")).otherwise(0))


def _out(frame: pl.LazyFrame, **columns: pl.Expr) -> pl.DataFrame:
    """Select VIOLATION_SCHEMA from ``frame`` (missing columns null), in VIOLATION_KEY order."""
    present = set(frame.collect_schema().names())
    exprs = []
    for name, dtype in VIOLATION_SCHEMA.items():
        if name in columns:
            exprs.append(columns[name].cast(dtype).alias(name))
        elif name in present:
            exprs.append(pl.col(name).cast(dtype))
        else:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
    return frame.select(exprs).sort(list(VIOLATION_KEY), nulls_last=True).collect()


# --- the invariants ---------------------------------------------------------------------


def entry_unbalanced(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 1: per version and asset, debits = credits (expected debits, actual credits)."""
    sums = (
        _entries(legs)
        .group_by(*VERSION, "chain_seq", "asset_id")
        .agg(_amount("debit").alias("expected"), _amount("credit").alias("actual"))
        .filter(pl.col("expected") != pl.col("actual"))
    )
    return _out(sums)


def _counting(legs: pl.LazyFrame) -> pl.LazyFrame:
    """Entries of the version of each transaction that counts now (as the replay counts)."""
    versions = _versions(legs)
    latest = versions.filter(pl.col("version") == pl.col("version").max().over(TX))
    resolved = (
        versions.filter(pl.col("pending_transaction_id").is_not_null())
        .select("ledger_id", pl.col("pending_transaction_id").alias("transaction_id"))
        .unique()
    )
    counting = latest.filter(pl.col("status").is_in(["posted", "pending"])).join(
        resolved.with_columns(pl.lit(value=True).alias("_resolved")), on=list(TX), how="left"
    )
    counting = counting.filter(
        ~((pl.col("status") == "pending") & pl.col("_resolved").fill_null(value=False))
    )
    return _entries(legs).join(counting.select(*VERSION), on=list(VERSION), how="semi")


def ledger_unbalanced(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 3: per ledger, asset and status (code), debits (expected) = credits (actual)."""
    sums = (
        _counting(legs)
        .group_by("ledger_id", "asset_id", pl.col("status").alias("code"))
        .agg(_amount("debit").alias("expected"), _amount("credit").alias("actual"))
        .filter(pl.col("expected") != pl.col("actual"))
    )
    return _out(sums)


def _with_previous(legs: pl.LazyFrame) -> pl.LazyFrame:
    versions = _versions(legs).sort(*VERSION)
    return versions.with_columns(
        pl.col("status").shift(1).over(TX).alias("_prev_status"),
        pl.col("version").shift(1).over(TX).alias("_prev_version"),
        pl.col("chain_seq").shift(1).over(TX).alias("_prev_seq"),
    )


def status_invalid_move(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 4: pending -> posted | archived only, terminal stays terminal, resolved once.

    Codes: ``starts_archived``, ``after_terminal`` (other_* = the terminal version, subject
    its status), ``pending_again`` (other_* = the pending version), ``resolved_again``
    (subject = the pending transaction, other_* = its first resolution).
    """
    moves = _with_previous(legs)
    prev = pl.col("_prev_status")
    code = (
        pl.when(prev.is_null() & (pl.col("status") == "archived"))
        .then(pl.lit("starts_archived"))
        .when(prev.is_in(TERMINAL))
        .then(pl.lit("after_terminal"))
        .when((prev == "pending") & (pl.col("status") == "pending"))
        .then(pl.lit("pending_again"))
    )
    bad = moves.with_columns(code.alias("code")).filter(pl.col("code").is_not_null())
    own = moves.filter((prev == "pending") & pl.col("status").is_in(TERMINAL)).select(
        *TX, pl.col("transaction_id").alias("_target"), "version", "chain_seq", "pos"
    )
    other = moves.filter(
        (pl.col("version") == 0) & pl.col("pending_transaction_id").is_not_null()
    ).select(*TX, pl.col("pending_transaction_id").alias("_target"), "version", "chain_seq", "pos")
    resolutions = (
        pl.concat([own, other])
        .sort("pos")
        .with_columns(
            pl.col("transaction_id")
            .first()
            .over("ledger_id", "_target")
            .alias("other_transaction_id"),
            pl.col("version").first().over("ledger_id", "_target").alias("other_version"),
            pl.col("chain_seq").first().over("ledger_id", "_target").alias("other_chain_seq"),
            pl.int_range(pl.len()).over("ledger_id", "_target").alias("_rank"),
        )
        .filter(pl.col("_rank") > 0)
    )
    first = _out(
        bad,
        subject=pl.col("_prev_status"),
        other_transaction_id=pl.when(pl.col("code") == "starts_archived")
        .then(None)
        .otherwise(pl.col("transaction_id")),
        other_version=pl.col("_prev_version"),
        other_chain_seq=pl.col("_prev_seq"),
    )
    again = _out(resolutions, code=pl.lit("resolved_again"), subject=pl.col("_target"))
    return pl.concat([first, again]).sort(list(VIOLATION_KEY), nulls_last=True)


def pending_overposted(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 4: a posting moves at most the pending amount, per asset (debit totals).

    A posting is a posted version after a pending one of the same transaction, or the first
    version of a posted transaction naming a pending one (whose last pending version counts).
    """
    moves = _with_previous(legs)
    own = moves.filter(
        (pl.col("_prev_status") == "pending") & (pl.col("status") == "posted")
    ).select(
        *VERSION,
        "chain_seq",
        pl.col("transaction_id").alias("other_transaction_id"),
        pl.col("_prev_version").alias("other_version"),
        pl.col("_prev_seq").alias("other_chain_seq"),
    )
    pending = (
        moves.filter(pl.col("status") == "pending")
        .group_by(*TX)
        .agg(pl.all().sort_by("version").last())
        .select(
            "ledger_id",
            pl.col("transaction_id").alias("other_transaction_id"),
            pl.col("version").alias("other_version"),
            pl.col("chain_seq").alias("other_chain_seq"),
        )
    )
    linked = (
        moves.filter(
            (pl.col("version") == 0)
            & (pl.col("status") == "posted")
            & pl.col("pending_transaction_id").is_not_null()
        )
        .select(
            *VERSION, "chain_seq", pl.col("pending_transaction_id").alias("other_transaction_id")
        )
        .join(pending, on=["ledger_id", "other_transaction_id"], how="inner")
    )
    postings = pl.concat([own, linked])
    debits = (
        _entries(legs)
        .filter(pl.col("direction") == "debit")
        .group_by(*VERSION, "asset_id")
        .agg(_total(pl.col("amount")).alias("_debits"))
    )
    posted = postings.join(debits, on=list(VERSION), how="inner")
    held = debits.select(
        "ledger_id",
        pl.col("transaction_id").alias("other_transaction_id"),
        pl.col("version").alias("other_version"),
        "asset_id",
        pl.col("_debits").alias("_held"),
    )
    over = posted.join(
        held, on=["ledger_id", "other_transaction_id", "other_version", "asset_id"], how="left"
    ).filter(pl.col("_debits") > pl.col("_held").fill_null(0))
    return _out(over, expected=pl.col("_held").fill_null(0), actual=pl.col("_debits"))


def _first_row(by: tuple[str, ...]) -> pl.Expr:
    return pl.col("pos") == pl.col("pos").min().over(by)


def idempotency_conflict(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 5: one idempotency key, one payload.

    The first transaction to use a key owns it; another one using it with a different
    payload (legs multiset) conflicts, at its first row with that key.
    """
    versions = _versions(legs).filter(pl.col("idempotency_key").is_not_null())
    key = ("ledger_id", "idempotency_key")
    firsts = versions.filter(_first_row((*key, "transaction_id")))
    owner = firsts.filter(_first_row(key)).select(
        *key,
        pl.col("transaction_id").alias("other_transaction_id"),
        pl.col("version").alias("other_version"),
        pl.col("chain_seq").alias("other_chain_seq"),
    )
    pairs = (
        firsts.join(owner, on=list(key), how="inner")
        .filter(pl.col("transaction_id") != pl.col("other_transaction_id"))
        .with_columns(
            pl.col("transaction_id").alias("a_transaction_id"),
            pl.col("version").alias("a_version"),
            pl.col("other_transaction_id").alias("b_transaction_id"),
            pl.col("other_version").alias("b_version"),
        )
    )
    conflicts = _differs(pairs, _entries(legs), (*key, "transaction_id"), flip=False)
    return _out(conflicts, subject=pl.col("idempotency_key"))


def external_id_duplicate(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 5: a first version reusing an earlier transaction's external id.

    A transaction linked (pending_transaction_id, reverses_transaction_id, either way) to
    an earlier user of the id shares it by design; any other names the earliest user.
    """
    firsts = _versions(legs).filter((pl.col("version") == 0) & pl.col("external_id").is_not_null())
    earlier = firsts.select(
        "ledger_id",
        "external_id",
        pl.col("transaction_id").alias("other_transaction_id"),
        pl.col("version").alias("other_version"),
        pl.col("chain_seq").alias("other_chain_seq"),
        pl.col("pending_transaction_id").alias("_o_pending"),
        pl.col("reverses_transaction_id").alias("_o_reverses"),
        pl.col("pos").alias("_o_pos"),
    )
    me, them = pl.col("transaction_id"), pl.col("other_transaction_id")
    linked = (
        (pl.col("pending_transaction_id") == them).fill_null(value=False)
        | (pl.col("reverses_transaction_id") == them).fill_null(value=False)
        | (pl.col("_o_pending") == me).fill_null(value=False)
        | (pl.col("_o_reverses") == me).fill_null(value=False)
    )
    pairs = (
        firsts.join(earlier, on=["ledger_id", "external_id"], how="inner")
        .filter((pl.col("_o_pos") < pl.col("pos")) & (me != them))
        .filter(~linked.any().over(*VERSION))  # a capture or reversal shares its id
        .filter(pl.col("_o_pos") == pl.col("_o_pos").min().over(*VERSION))
    )
    return _out(pairs, subject=pl.col("external_id"))


def reversal_not_inverse(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 6: a reversal's legs are its original's latest posted version's, flipped.

    Codes: ``no_original`` (nothing posted to reverse) or ``not_inverse``, with the first
    asset that differs: expected = the original's credits in it, actual = the reversal's debits.
    """
    versions = _versions(legs)
    reversals = versions.filter(pl.col("reverses_transaction_id").is_not_null())
    originals = (
        versions.filter(pl.col("status") == "posted")
        .group_by(*TX)
        .agg(pl.all().sort_by("version").last())
        .select(
            "ledger_id",
            pl.col("transaction_id").alias("reverses_transaction_id"),
            pl.col("version").alias("other_version"),
            pl.col("chain_seq").alias("other_chain_seq"),
        )
    )
    paired = reversals.join(originals, on=["ledger_id", "reverses_transaction_id"], how="left")
    missing = paired.filter(pl.col("other_version").is_null())
    pairs = paired.filter(pl.col("other_version").is_not_null()).with_columns(
        pl.col("transaction_id").alias("a_transaction_id"),
        pl.col("version").alias("a_version"),
        pl.col("reverses_transaction_id").alias("b_transaction_id"),
        pl.col("other_version").alias("b_version"),
    )
    wrong = _differs(pairs, _entries(legs), VERSION, flip=True)
    entries = _entries(legs)
    mine = entries.group_by(*VERSION, "asset_id").agg(_amount("debit").alias("actual"))
    theirs = entries.group_by(*VERSION, "asset_id").agg(_amount("credit").alias("expected"))
    assets = pl.concat(
        [
            wrong.join(entries.select(*VERSION, "asset_id"), on=list(VERSION), how="inner").select(
                *VERSION, "asset_id"
            ),
            wrong.join(
                entries.select(*VERSION, "asset_id").rename(
                    {"transaction_id": "b_transaction_id", "version": "b_version"}
                ),
                on=["ledger_id", "b_transaction_id", "b_version"],
                how="inner",
            ).select(*VERSION, "asset_id"),
        ]
    ).unique()
    compared = (
        assets.join(wrong, on=list(VERSION), how="inner")
        .join(mine, on=[*VERSION, "asset_id"], how="left")
        .join(
            theirs.rename({"transaction_id": "b_transaction_id", "version": "b_version"}),
            on=["ledger_id", "b_transaction_id", "b_version", "asset_id"],
            how="left",
        )
        .with_columns(pl.col("expected").fill_null(0), pl.col("actual").fill_null(0))
        .sort(*VERSION, pl.col("expected") == pl.col("actual"), "asset_id")
        .group_by(*VERSION, maintain_order=True)
        .first()
    )
    return pl.concat(
        [
            _out(missing, code=pl.lit("no_original"), subject=pl.col("reverses_transaction_id")),
            _out(
                compared,
                code=pl.lit("not_inverse"),
                subject=pl.col("b_transaction_id"),
                other_transaction_id=pl.col("b_transaction_id"),
            ),
        ]
    ).sort(list(VIOLATION_KEY), nulls_last=True)


def reversal_duplicate(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 6: one reversal per original; each later reversal names the first."""
    versions = _versions(legs).filter(pl.col("reverses_transaction_id").is_not_null())
    firsts = versions.filter(_first_row(TX))
    by = ("ledger_id", "reverses_transaction_id")
    ranked = firsts.sort("pos").with_columns(
        pl.col("transaction_id").first().over(by).alias("other_transaction_id"),
        pl.col("version").first().over(by).alias("other_version"),
        pl.col("chain_seq").first().over(by).alias("other_chain_seq"),
        pl.int_range(pl.len()).over(by).alias("_rank"),
    )
    return _out(ranked.filter(pl.col("_rank") > 0), subject=pl.col("reverses_transaction_id"))


def balance_negative(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 7: no-negative accounts stay at or above zero, replayed in chain order.

    A violation is the row where an account's available balance in an asset goes from >= 0
    (expected, the balance before) to < 0 (actual, after).

    A version counts from its row until its transaction's next version; a pending version's
    hold also ends at the first row of a transaction that resolves it.
    """
    versions = _versions(legs)
    next_pos = pl.col("pos").shift(-1).over(TX, order_by="version")
    resolving = (
        versions.filter(pl.col("pending_transaction_id").is_not_null())
        .group_by("ledger_id", pl.col("pending_transaction_id").alias("transaction_id"))
        .agg(pl.col("pos").min().alias("_resolved_at"))
    )
    spans = (
        versions.with_columns(next_pos.alias("_next"))
        .join(resolving, on=list(TX), how="left")
        .with_columns(
            pl.when((pl.col("status") == "pending") & (pl.col("_resolved_at") > pl.col("pos")))
            .then(pl.min_horizontal("_next", "_resolved_at"))
            .otherwise(pl.col("_next"))
            .alias("_end")
        )
        .select(*VERSION, "status", pl.col("pos").alias("_start"), "_end")
    )
    credit = pl.col("normal_balance") == "credit"
    posted = pl.when(credit).then(_signed(-1)).otherwise(_signed(1))
    hold_direction = pl.when(credit).then(pl.lit("debit")).otherwise(pl.lit("credit"))
    held = pl.when(pl.col("direction") == hold_direction).then(-pl.col("amount")).otherwise(0)
    contrib = (
        _entries(legs)
        .filter(
            (pl.col("allow_negative") == 0) & pl.col("account_check").is_in(["debit", "credit"])
        )
        .join(spans, on=list(VERSION), how="inner")
        .with_columns(
            pl.when(pl.col("status") == "posted")
            .then(posted)
            .when(pl.col("status") == "pending")
            .then(held)
            .otherwise(0)
            .alias("_c")
        )
        .group_by(*VERSION, "account_id", "asset_id", "_start", "_end")
        .agg(_total(pl.col("_c")))
    )
    events = pl.concat(
        [
            contrib.select(
                "ledger_id", "account_id", "asset_id", pl.col("_start").alias("pos"), "_c"
            ),
            contrib.filter(pl.col("_end").is_not_null()).select(
                "ledger_id", "account_id", "asset_id", pl.col("_end").alias("pos"), -pl.col("_c")
            ),
        ]
    )
    account = ("ledger_id", "account_id", "asset_id")
    running = (
        events.group_by(*account, "pos")
        .agg(_total(pl.col("_c")))
        .sort(*account, "pos")
        .with_columns(pl.col("_c").cum_sum().over(account).alias("actual"))
        .with_columns((pl.col("actual") - pl.col("_c")).alias("expected"))
        .filter((pl.col("expected") >= 0) & (pl.col("actual") < 0))
    )
    located = running.join(
        versions.select("ledger_id", "pos", "transaction_id", "version", "chain_seq"),
        on=["ledger_id", "pos"],
        how="inner",
    )
    return _out(located)


def chain_gap(legs: pl.LazyFrame) -> pl.DataFrame:
    """Invariant 8: chain_seq is contiguous from 1 in each ledger.

    One violation per gap: chain_seq = the first missing seq, expected = the last missing
    seq, other_* = the row after the gap, actual = how many seqs the ledger holds (a gap
    wider than that is a row moved past the chain, not that many deletions).
    """
    rows = (
        _versions(legs)
        .filter(pl.col("chain_seq").is_not_null())
        .sort("ledger_id", "chain_seq", "transaction_id", "version")
        .unique(["ledger_id", "chain_seq"], keep="first", maintain_order=True)
        .with_columns(
            pl.col("chain_seq").shift(1).over("ledger_id").fill_null(0).alias("_prev"),
            pl.len().over("ledger_id").alias("_held"),
        )
    )
    gaps = rows.filter(pl.col("_prev") + 1 <= pl.col("chain_seq") - 1)
    return _out(
        gaps,
        chain_seq=pl.col("_prev") + 1,
        expected=pl.col("chain_seq") - 1,
        actual=pl.col("_held"),
        other_transaction_id=pl.col("transaction_id"),
        other_version=pl.col("version"),
        other_chain_seq=pl.col("chain_seq"),
        transaction_id=pl.lit(None, dtype=pl.String()),
        version=pl.lit(None, dtype=pl.Int64()),
    )


INVARIANTS: dict[str, Callable[[pl.LazyFrame], pl.DataFrame]] = {
    "entry_unbalanced": entry_unbalanced,
    "ledger_unbalanced": ledger_unbalanced,
    "status_invalid_move": status_invalid_move,
    "pending_overposted": pending_overposted,
    "idempotency_conflict": idempotency_conflict,
    "external_id_duplicate": external_id_duplicate,
    "reversal_not_inverse": reversal_not_inverse,
    "reversal_duplicate": reversal_duplicate,
    "balance_negative": balance_negative,
    "chain_gap": chain_gap,
}
"""Every custom invariant by name (the name of its GX metric is ``ledger_invariant.<name>``)."""


def violations(invariant: str, legs: pl.DataFrame) -> pl.DataFrame:
    """The violations of one custom invariant over a ``legs`` frame (LEGS_SCHEMA columns)."""
    return INVARIANTS[invariant](legs.lazy())
