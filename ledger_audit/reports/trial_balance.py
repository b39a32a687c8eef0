"""Trial balance of one period: opening, debits, credits, closing per ledger x account x asset.

Built on ``roll_forward`` (posted balances; pending never reaches a trial balance), then
turned from oriented balances into **signed debit-minus-credit** balances, the convention of a
trial balance: a debit balance is positive, a credit balance negative, whatever the account's
normal side. So over all accounts of one ledger and asset, opening and closing sum to zero
and debits equal credits: the ``totals`` frame shows those sums, and ``balanced`` says
whether they are all zero.

``debits``/``credits`` are the posted movement of the period on the chosen basis: entries of
posted versions that start counting in the period, less those of posted versions that stop
counting in it (a superseded posting), so they can be negative in that rare case. Amounts
are minor units of ``asset_id`` (Int64, or Decimal(38, 0) for a wide ledger), with the
asset's ``scale`` beside them for display; assets never mix.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.replay.balances import Basis
from ledger_audit.replay.rollforward import RolledForward, rolled_rows
from ledger_audit.reports.gl_mapping import apply_mapping
from ledger_audit.sources.gl_mapping import GlMapping
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

TRIAL_BALANCE_COLUMNS = (
    "period",
    "ledger_id",
    "account_id",
    "asset_id",
    "scale",
    "normal_balance",
    "opening",
    "debits",
    "credits",
    "closing",
    "difference",
)
"""Columns of ``TrialBalance.rows``; ``difference`` = opening + debits - credits - closing."""

TOTALS_COLUMNS = (
    "period",
    "ledger_id",
    "asset_id",
    "scale",
    "opening",
    "debits",
    "credits",
    "closing",
    "movement",
)
"""Columns of ``TrialBalance.totals``; ``movement`` = debits - credits."""

_AMOUNTS = ("opening", "debits", "credits", "closing")


def asset_scale(asset_id: pl.Expr) -> pl.Expr:
    """The scale of a ``CODE/scale`` asset id, as Int32."""
    return asset_id.str.split("/").list.get(1, null_on_oob=True).cast(pl.Int32())


def asset_code(asset_id: pl.Expr) -> pl.Expr:
    """The code of a ``CODE/scale`` asset id (the currency, for a fiat asset)."""
    return asset_id.str.split("/").list.first()


@dataclass(frozen=True, slots=True, eq=False)
class TrialBalance:
    """A trial balance: rows per account x asset, and their totals per ledger x asset.

    Attributes:
        period: the period reported.
        basis: which time decides what counts by when (``effective`` or ``recorded``).
        rows: TRIAL_BALANCE_COLUMNS, sorted by ledger, account, asset; every account x asset
            with an opening or closing balance or movement.
        totals: TOTALS_COLUMNS per ledger x asset: opening, closing and movement must be zero.
    """

    period: Period
    basis: Basis
    rows: pl.DataFrame
    totals: pl.DataFrame

    @property
    def balanced(self) -> bool:
        """True when every ledger x asset totals zero and every row rolls forward."""
        totals = self.totals.select(
            (pl.col("opening") == 0) & (pl.col("closing") == 0) & (pl.col("movement") == 0)
        ).to_series()
        return bool(totals.all()) and bool((self.rows["difference"] == 0).all())


def build_trial_balance(
    frames: LedgerFrames,
    period: Period,
    basis: Basis = "effective",
    rolled: RolledForward | None = None,
) -> TrialBalance:
    """The trial balance of ``period`` (see the module docstring for the conventions).

    ``rolled``: the roll-forward the caller already made of these frames, read if it covers
    ``period`` on ``basis``.
    """
    return trial_balance_of(rolled_rows(frames, [period], basis, rolled), period, basis)


def trial_balance_of(roll: pl.LazyFrame, period: Period, basis: Basis) -> TrialBalance:
    """The trial balance from ``period``'s roll-forward rows, whichever engine made them."""
    credit = pl.col("normal_balance") == "credit"

    def signed(name: str) -> pl.Expr:
        return pl.when(credit).then(-pl.col(name)).otherwise(pl.col(name)).alias(name)

    rows = (
        roll.with_columns(signed("opening"), signed("closing"))
        .with_columns(
            asset_scale(pl.col("asset_id")).alias("scale"),
            (pl.col("opening") + pl.col("debits") - pl.col("credits") - pl.col("closing")).alias(
                "difference"
            ),
        )
        .select(TRIAL_BALANCE_COLUMNS)
        .sort("ledger_id", "account_id", "asset_id")
        .collect()
    )
    totals = (
        rows.group_by("period", "ledger_id", "asset_id", "scale")
        .agg(pl.col(name).sum() for name in _AMOUNTS)
        .with_columns((pl.col("debits") - pl.col("credits")).alias("movement"))
        .select(TOTALS_COLUMNS)
        .sort("ledger_id", "asset_id")
    )
    return TrialBalance(period=period, basis=basis, rows=rows, totals=totals)


GL_COLUMNS = (
    "period",
    "ledger_id",
    "gl_account",
    "gl_name",
    "asset_id",
    "scale",
    "accounts",
    "opening",
    "debits",
    "credits",
    "closing",
)
"""Columns of :func:`by_gl_account`."""


def by_gl_account(trial_balance: TrialBalance, mapping: GlMapping) -> pl.DataFrame:
    """The trial balance rolled up to the GL mapping's accounts, per ledger and asset.

    The same signed debit-minus-credit balances as the rows, summed per GL account (an
    account no rule maps lands in the mapping's suspense account), with the number of ledger
    accounts behind each row; assets stay apart. Sorted by ledger, GL account, asset.
    """
    mapped = apply_mapping(trial_balance.rows.lazy(), mapping).join(
        mapping.gl_name_frame().lazy(), on="gl_account", how="left"
    )
    return (
        mapped.group_by("period", "ledger_id", "gl_account", "asset_id", "scale")
        .agg(
            pl.col("gl_name").first(),
            pl.col("account_id").n_unique().cast(pl.UInt32()).alias("accounts"),
            *(pl.col(name).sum() for name in _AMOUNTS),
        )
        .select(GL_COLUMNS)
        .sort("ledger_id", "gl_account", "asset_id")
        .collect()
    )
