"""Entries: legs per row, or two per transfer row; indexes and versions where not mapped."""

from __future__ import annotations

import polars as pl

from ledger_audit.sources.mapping import fields
from ledger_audit.sources.mapping.amounts import money_values
from ledger_audit.sources.mapping.fields import reason_when
from ledger_audit.sources.mapping.rows import (
    Build,
    mark_duplicates,
    null_problem,
)
from ledger_audit.sources.mapping.spec import EntryShape, TransactionShape
from ledger_audit.sources.mapping.versions import transaction_values, transactions_in_entries


def entry_rows(build: Build, scales: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Legs per row (transfer rows give two), and the transactions if they live here too."""
    e = build.mapping.entries
    rel = build.rel(e.section)
    d = rel.dtypes
    money, checks, stages = money_values(build, rel, e.amount, e.currency, scales)
    tid = fields.text(e.transaction_id if e.transaction_id is not None else e.row_id, d)
    ledger = build.ledger(e.ledger_id, d)
    values: dict[str, pl.Expr] = {
        "ledger_id": ledger.value,
        "transaction_id": tid.value,
        **money,
    }
    reads = [tid, ledger]
    checks.append(null_problem(tid.value, (e.transaction_id or e.row_id or e.amount).key))
    for name, field in (("__row_id", e.row_id), ("version", e.version), ("entry_index", e.index)):
        read = fields.integer(field, d) if name != "__row_id" else fields.text(field, d)
        values[name] = read.value
        reads.append(read)
        if field is not None:
            checks.append(null_problem(read.value, field.key))
    if e.shape == EntryShape.ENTRY:
        account = fields.text(e.account, d)
        values["account_id"] = account.value
        checks.append(null_problem(account.value, str(e.account.key if e.account else "account")))
        reads.append(account)
        if e.direction is not None:
            direction = fields.enum(e.direction, d)
            values["direction"] = direction.value
            reads.append(direction)
            checks.append(null_problem(direction.value, e.direction.key))
        else:
            positive = "debit" if e.amount.sign == "debit_positive" else "credit"
            negative = "credit" if positive == "debit" else "debit"
            values["direction"] = (
                pl.when(money["__negative"]).then(pl.lit(negative)).otherwise(pl.lit(positive))
            )
    else:
        debit, credit = fields.text(e.debit_account, d), fields.text(e.credit_account, d)
        values["__debit"], values["__credit"] = debit.value, credit.value
        reads += [debit, credit]
        checks += [
            null_problem(debit.value, str(e.debit_account.key if e.debit_account else "")),
            null_problem(credit.value, str(e.credit_account.key if e.credit_account else "")),
            reason_when(
                money["__negative"], f"{e.amount.key}: a transfer amount is never negative"
            ),
        ]
    shared = build.mapping.transactions.section.relation == e.section.relation
    tx_values: dict[str, pl.Expr] = {}
    if shared:
        tx_values, tx_checks = transaction_values(
            build, rel, with_status=build.mapping.transactions.shape != TransactionShape.HISTORY
        )
        checks += tx_checks
        tx_values = {f"__tx_{k}": v for k, v in tx_values.items()}
    frame = build.evaluate(
        rel, {**values, **tx_values}, [*fields.problems(*reads), *checks], stages
    )
    if e.index is not None:
        keys = ["ledger_id", "transaction_id", "version", "entry_index"]
        # In key order with every key mapped, the legs keep that order to the end: they are
        # only filtered (no transfer split, no version join, no index ranked here).
        if mark_duplicates(rel, frame, keys, "entries") and (
            e.shape == EntryShape.ENTRY and e.version is not None
        ):
            build.in_key_order.add("entries")
    if e.row_id is not None:
        mark_duplicates(rel, frame, ["ledger_id", "__row_id"], "entries")
    tx_frame = None
    if shared:
        tx_frame = transactions_in_entries(rel, frame)
    return frame, tx_frame


def _legs(build: Build, frame: pl.DataFrame) -> pl.DataFrame:
    """Good entry rows as legs: transfers split in two, indexes assigned where missing."""
    e = build.mapping.entries
    if e.shape == EntryShape.TRANSFER:
        base = frame.drop("__negative")
        if e.index is None and e.transaction_id is None:
            # Each transfer is its own transaction (its row_id, repeats rejected), so every
            # version holds one row: its index is 0 without ranking.
            base = base.with_columns(pl.lit(0, dtype=pl.Int64).alias("entry_index"))
        elif e.index is None:
            order = pl.struct(
                _row_digits(), "__row_id", "__debit", "__credit", "asset_id", "__magnitude"
            )
            base = base.with_columns(
                (
                    order.rank("ordinal")
                    .over("ledger_id", "transaction_id", "version")
                    .cast(pl.Int64)
                    - 1
                ).alias("entry_index")
            )
        legs = [
            base.with_columns(
                pl.col(account).alias("account_id"),
                pl.lit(direction).alias("direction"),
                (pl.col("entry_index") * 2 + leg).alias("entry_index"),
            )
            for leg, (account, direction) in enumerate(
                (("__debit", "debit"), ("__credit", "credit"))
            )
        ]
        return pl.concat(legs).drop("__debit", "__credit")
    if e.index is None:
        frame = frame.with_columns(
            (
                pl.struct(
                    _row_digits(),
                    pl.col("__row_id"),
                    (pl.col("direction") == "credit").alias("__credit_leg"),
                    pl.col("account_id"),
                    pl.col("asset_id"),
                    pl.col("__magnitude").cast(pl.String).str.len_chars().alias("__digits"),
                    pl.col("__magnitude").cast(pl.String).alias("__value"),
                )
                .rank("ordinal")
                .over("ledger_id", "transaction_id", "version")
                .cast(pl.Int64)
                - 1
            ).alias("entry_index")
        )
    return frame.drop("__negative")


def _row_digits() -> pl.Expr:
    """Orders numeric row ids as numbers (9 before 10): their length first, then the text."""
    row_id = pl.col("__row_id")
    return (
        pl.when(row_id.str.contains(r"^[0-9]+$"))
        .then(row_id.str.len_bytes())
        .otherwise(0)
        .alias("__row_digits")
    )


def entries_of_versions(
    build: Build, frame: pl.DataFrame, transactions: pl.DataFrame
) -> pl.DataFrame:
    """Good entry rows as legs, each in its version (entries without one: every version)."""
    rel = build.rel(build.mapping.entries.section)
    good = rel.good(frame.drop([c for c in frame.columns if c.startswith("__tx_")]))
    if build.mapping.entries.version is None:
        versions = transactions.select("ledger_id", "transaction_id", "version").unique()
        good = (
            good.drop("version")
            .join(versions, on=["ledger_id", "transaction_id"], how="left")
            .with_columns(pl.col("version").fill_null(0))
        )
    return _legs(build, good)
