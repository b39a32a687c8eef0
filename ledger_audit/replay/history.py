"""Daily balance history: each account x asset's closing balances, one row per UTC day.

Read from the balance event stream (``replay.events``) with one cumulative sum, so a month
of history costs about as much as one balance lookup, not thirty.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from ledger_audit.replay.balances import Basis, oriented
from ledger_audit.replay.events import BALANCE_KEY, CELLS, balance_events
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import DAY_NS

_EPOCH = date(1970, 1, 1)


def _day_index(day: date) -> int:
    return (day - _EPOCH).days


def balance_history(
    frames: LedgerFrames,
    first_day: date,
    last_day: date,
    *,
    basis: Basis = "effective",
    account_ids: Sequence[str] | None = None,
    dense: bool = True,
) -> pl.LazyFrame:
    """Closing balances per account x asset for each UTC day from ``first_day`` to ``last_day``.

    A day's row is the balance as of its last nanosecond. With ``dense`` every account x asset
    that has any activity by ``last_day`` gets a row for every day (quiet days repeat the
    balance); otherwise only days with movement appear. Columns: ledger_id, account_id,
    asset_id, day, the four cells, normal_balance, posted, available.
    """
    events = balance_events(frames, basis)
    if account_ids is not None:
        events = events.filter(pl.col("account_id").is_in(list(account_ids)))
    dtypes = events.collect_schema()
    first, last = _day_index(first_day), _day_index(last_day)
    by_day = events.with_columns((pl.col("at_ns") // DAY_NS).alias("_day")).filter(
        pl.col("_day") <= last
    )
    opening = (
        by_day.filter(pl.col("_day") < first)
        .group_by(*BALANCE_KEY)
        .agg(pl.col(c).sum().alias(f"_open_{c}") for c in CELLS)
    )
    daily = (
        by_day.filter(pl.col("_day") >= first)
        .group_by(*BALANCE_KEY, "_day")
        .agg(pl.col(c).sum() for c in CELLS)
    )
    if dense:
        keys = by_day.select(BALANCE_KEY).unique()
        days = pl.LazyFrame({"_day": pl.int_range(first, last + 1, eager=True)})
        daily = (
            keys.join(days, how="cross")
            .join(daily, on=[*BALANCE_KEY, "_day"], how="left")
            .with_columns(pl.col(c).fill_null(pl.lit(0).cast(dtypes[c])) for c in CELLS)
        )
    running = (
        daily.join(opening, on=list(BALANCE_KEY), how="left")
        .sort([*BALANCE_KEY, "_day"])
        .with_columns(
            (pl.col(c).cum_sum().over(list(BALANCE_KEY)) + pl.col(f"_open_{c}").fill_null(0))
            .cast(dtypes[c])
            .alias(c)
            for c in CELLS
        )
        .with_columns(pl.col("_day").cast(pl.Int32()).cast(pl.Date()).alias("day"))
        .select(*BALANCE_KEY, "day", *CELLS)
    )
    return oriented(running, frames.accounts.lazy()).sort([*BALANCE_KEY, "day"])
