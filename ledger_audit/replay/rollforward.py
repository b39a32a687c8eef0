"""Roll-forward per account x asset x period: opening + movement = closing, shown to tie out.

Opening and closing come from ``balances_as_of`` (latest version per transaction at the
instant); debits and credits from the legs' starts and ends inside the period
(``events.posted_moves``). The two are computed independently, so ``difference`` (opening +
oriented movement - closing) is a real tie-out, zero on every row of a consistent replay.
Each distinct instant is replayed once: a month's closing is the next month's opening.
A caller whose consumers read the same months (the close's trial balance, JET completeness
and flux review) rolls forward once (:func:`roll_forward_once`) and hands the rows on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.replay.balances import Basis, balances_as_of
from ledger_audit.replay.events import BALANCE_KEY, posted_moves
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

ROLL_FORWARD_COLUMNS = (
    "period",
    *BALANCE_KEY,
    "normal_balance",
    "opening",
    "debits",
    "credits",
    "closing",
    "difference",
)


def roll_forward(
    frames: LedgerFrames, periods: Sequence[Period], basis: Basis = "effective"
) -> pl.LazyFrame:
    """Posted roll-forward rows for every account x asset with a balance or movement.

    ``opening``/``closing`` are oriented posted balances as of the instant before the period
    and its last instant; ``debits``/``credits`` are the posted debit and credit movement in
    the period (minor units of ``asset_id``).
    """
    moves = posted_moves(frames, basis).collect().lazy()  # read once per period
    posted = {
        at: balances_as_of(frames, at, basis).select(*BALANCE_KEY, "posted").collect().lazy()
        for at in period_instants(periods)
    }

    def movement(period: Period) -> pl.LazyFrame:
        return (
            moves.filter(pl.col("at_ns").is_between(period.start_ns, period.end_ns - 1))
            .group_by(*BALANCE_KEY)
            .agg(
                pl.col("posted_debits").sum().alias("debits"),
                pl.col("posted_credits").sum().alias("credits"),
            )
        )

    normal = frames.accounts.lazy().select("ledger_id", "account_id", "normal_balance")
    return assemble_roll_forward(periods, posted, movement, normal)


def period_instants(periods: Sequence[Period]) -> list[int]:
    """The instants a roll-forward replays: each period's opening and closing, once each."""
    return sorted({p.start_ns - 1 for p in periods} | {p.end_ns - 1 for p in periods})


def assemble_roll_forward(
    periods: Sequence[Period],
    posted: Mapping[int, pl.LazyFrame],
    movement: Callable[[Period], pl.LazyFrame],
    normal: pl.LazyFrame,
) -> pl.LazyFrame:
    """The roll-forward rows from their parts, whichever engine computed them.

    ``posted``: BALANCE_KEY and ``posted`` at each of :func:`period_instants`;
    ``movement(period)``: BALANCE_KEY, ``debits`` and ``credits`` of the period;
    ``normal``: each account's normal balance.
    """
    credit = pl.col("normal_balance") == "credit"
    rows = []
    for period in periods:
        opening = posted[period.start_ns - 1].rename({"posted": "opening"})
        closing = posted[period.end_ns - 1].rename({"posted": "closing"})
        moved = movement(period)
        keys = pl.concat([f.select(BALANCE_KEY) for f in (opening, closing, moved)]).unique()
        joined = (
            keys.join(opening, on=list(BALANCE_KEY), how="left")
            .join(moved, on=list(BALANCE_KEY), how="left")
            .join(closing, on=list(BALANCE_KEY), how="left")
            .join(normal, on=["ledger_id", "account_id"], how="left")
            .with_columns(
                pl.col(c).fill_null(0) for c in ("opening", "debits", "credits", "closing")
            )
            .with_columns(pl.lit(period.label).alias("period"))
        )
        rows.append(joined)
    if not rows:
        return pl.LazyFrame(schema={c: pl.String() for c in ROLL_FORWARD_COLUMNS})
    net = (
        pl.when(credit)
        .then(pl.col("credits") - pl.col("debits"))
        .otherwise(pl.col("debits") - pl.col("credits"))
    )
    return (
        pl.concat(rows)
        .with_columns((pl.col("opening") + net - pl.col("closing")).alias("difference"))
        .select(ROLL_FORWARD_COLUMNS)
        .sort(["period", *BALANCE_KEY])
    )


@dataclass(frozen=True, slots=True)
class RolledForward:
    """A roll-forward computed once, for consumers that each read some of its periods.

    Each distinct period is replayed at its two instants; at 10M transactions one replay of
    a month takes about half a minute, and the close's trial balance, JET completeness and
    flux review read the same months. Holds no frames: whoever passes it on vouches that it
    was rolled over the frames its consumer reads.

    Attributes:
        periods: the periods rolled forward, each label once.
        basis: the time basis.
        rows: :func:`roll_forward`'s rows for ``periods``, collected.
    """

    periods: tuple[Period, ...]
    basis: Basis
    rows: pl.DataFrame

    def covers(self, periods: Sequence[Period], basis: Basis) -> bool:
        """True when every one of ``periods`` was rolled forward here on ``basis``."""
        return basis == self.basis and all(p in self.periods for p in periods)


def roll_forward_once(
    frames: LedgerFrames, periods: Sequence[Period], basis: Basis = "effective"
) -> RolledForward:
    """Roll ``periods`` forward (each once) for the consumers of :func:`rolled_rows`."""
    unique = tuple(dict.fromkeys(periods))
    if len({p.label for p in unique}) != len(unique):
        msg = "two periods share a label: their roll-forward rows could not be told apart"
        raise ValueError(msg)
    return RolledForward(unique, basis, roll_forward(frames, unique, basis).collect())


def rolled_rows(
    frames: LedgerFrames,
    periods: Sequence[Period],
    basis: Basis = "effective",
    rolled: RolledForward | None = None,
) -> pl.LazyFrame:
    """:func:`roll_forward`'s rows for ``periods``: read from ``rolled`` when it covers them.

    The same rows in the same order either way: each period's rows depend on that period
    alone, and both are sorted by period and balance key. ``periods`` naming one label
    twice are rolled here, as :func:`roll_forward` rolls them (a row per period given).
    """
    once = len({p.label for p in periods}) == len(periods)
    if rolled is None or not once or not rolled.covers(periods, basis):
        return roll_forward(frames, periods, basis)
    labels = sorted({p.label for p in periods})
    return rolled.rows.lazy().filter(pl.col("period").is_in(labels))
