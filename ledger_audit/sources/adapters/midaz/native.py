"""The evidence only Midaz's own rows hold: each operation's balance before and after.

Every operation that affected a balance records that balance's ``available`` and ``on_hold``
before and after it and the balance version before and after (``balance_version_before``,
``_after``); the ``balance`` row caches the end. Two running checks (running.py) read them:
``midaz_available`` (available, and the versions) and ``midaz_on_hold`` (on hold). The
change an operation makes is known from the row alone in the plain flow (a transaction with
no hold rows): a CREDIT adds its amount to a credit-direction balance's available, a DEBIT
subtracts it (a debit-direction balance the reverse), on hold is unchanged. In the two-phase
flow the change depends on the phase (pkg/mtransaction ``OperateBalances``), so only
continuity is checked there, and the coverage says so.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.running import RunningLayout, minor_units, running_check

AVAILABLE = RunningLayout(
    check="midaz_available",
    rows="operation",
    accounts="balance",
    balance="available balance",
    opening_version=0,
)
ON_HOLD = RunningLayout(
    check="midaz_on_hold",
    rows="operation",
    accounts="balance",
    balance="on-hold balance",
    opening_version=0,
    versions=False,
)

OPERATIONS = """
SELECT o.id::text AS id, o.ledger_id::text AS ledger_id, o.balance_id::text AS balance_id,
       o.type, o.asset_code, o.amount::text AS amount,
       o.available_balance::text AS available_before,
       o.available_balance_after::text AS available_after,
       o.on_hold_balance::text AS on_hold_before, o.on_hold_balance_after::text AS on_hold_after,
       o.balance_version_before AS version_before, o.balance_version_after AS version,
       b.direction,
       t.status IN ('APPROVED', 'CREATED') AND NOT EXISTS (
           SELECT 1 FROM operation h WHERE h.transaction_id = o.transaction_id
           AND h.type NOT IN ('DEBIT', 'CREDIT')) AS plain
FROM operation o JOIN "transaction" t ON t.id = o.transaction_id
LEFT JOIN balance b ON b.id = o.balance_id
WHERE o.balance_affected AND o.balance_version_after <> o.balance_version_before"""
"""The operations that moved a balance: an annotation's are zeroed, and a pending
transaction's destination CREDIT leaves its balance (and version) as it was until approval;
neither is a link of the balance's chain."""

BALANCES = """
SELECT id::text AS id, ledger_id::text AS ledger_id, asset_code,
       available::text AS available, on_hold::text AS on_hold, version
FROM balance"""

_OPERATION_COLUMNS = (
    "id",
    "ledger_id",
    "balance_id",
    "type",
    "asset_code",
    "amount",
    "available_before",
    "available_after",
    "on_hold_before",
    "on_hold_after",
    "version_before",
    "version",
    "direction",
    "plain",
)
_BALANCE_COLUMNS = ("id", "ledger_id", "asset_code", "available", "on_hold", "version")


def _scaled(frame: pl.DataFrame, scales: dict[str, int]) -> pl.LazyFrame:
    code = pl.col("asset_code").cast(pl.String)
    scale = code.replace_strict(scales, default=None, return_dtype=pl.Int64)
    return frame.lazy().with_columns(
        scale.alias("scale"),
        pl.concat_str(code, pl.lit("/"), scale.cast(pl.String)).alias("asset_id"),
    )


def midaz_running(
    operations: pl.DataFrame, balances: pl.DataFrame, scales: dict[str, int]
) -> tuple[NativeCheck, NativeCheck]:
    """The available and on-hold running checks of every Midaz balance."""
    ops = minor_units(
        _scaled(operations, scales),
        {
            "amount_units": "amount",
            "available_before": "available_before",
            "available_after": "available_after",
            "on_hold_before": "on_hold_before",
            "on_hold_after": "on_hold_after",
        },
        "scale",
    )
    sign = (
        pl.when(pl.col("type") == "CREDIT")
        .then(1)
        .when(pl.col("type") == "DEBIT")
        .then(-1)
        .otherwise(None)
    ) * pl.when(pl.col("direction") == "debit").then(-1).otherwise(1)
    plain = pl.col("plain").fill_null(value=False)
    common: list[pl.Expr | str] = [
        pl.col("id").alias("row_id"),
        "ledger_id",
        pl.col("balance_id").alias("account"),
        "asset_id",
        pl.col("version_before").cast(pl.Int64),
        pl.col("version").cast(pl.Int64),
    ]

    def part(name: str, delta: pl.Expr) -> pl.DataFrame:
        return ops.select(
            *common,
            delta.cast(pl.Int64).alias("delta"),
            pl.col(f"{name}_before").alias("before"),
            pl.col(f"{name}_after").alias("after"),
            pl.coalesce(
                pl.format("amount: {}", pl.col("amount_units_problem")),
                pl.format(f"{name}_balance: {{}}", pl.col(f"{name}_before_problem")),
                pl.format(f"{name}_balance_after: {{}}", pl.col(f"{name}_after_problem")),
            ).alias("problem"),
        ).collect()

    available = part("available", pl.when(plain).then(sign * pl.col("amount_units")))
    on_hold = part("on_hold", pl.when(plain).then(pl.lit(0)))
    cached = minor_units(
        _scaled(balances, scales), {"available": "available", "on_hold": "on_hold"}, "scale"
    )

    def store(name: str, version: pl.Expr) -> pl.DataFrame:
        return cached.select(
            "ledger_id",
            pl.col("id").alias("account"),
            "asset_id",
            pl.col(name).alias("balance"),
            version.cast(pl.Int64).alias("version"),
            pl.format(f"{name}: {{}}", pl.col(f"{name}_problem")).alias("problem"),
        ).collect()

    hold_rows = available.filter(pl.col("delta").is_null()).height
    unproven = (
        (
            (
                f"{hold_rows} operation(s) of the two-phase (hold) flow: their change depends "
                "on the phase, so only their continuity is checked, not their arithmetic"
            ),
        )
        if hold_rows
        else ()
    )
    return (
        running_check(
            available, store("available", pl.col("version")), AVAILABLE, unproven=unproven
        ),
        running_check(on_hold, store("on_hold", pl.lit(None)), ON_HOLD, unproven=unproven),
    )
