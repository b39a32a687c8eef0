"""Write canonical frames (the demo ledger) as an hledger journal, with balance assertions.

The same projection as the Beancount writer (``beancount.py``): each transaction as its
latest counting version (``*`` posted, ``!`` pending; voided and resolved holds left out),
dated by the effective time's UTC date, in (effective time, id) order, under the same
account names (``plain_account``). Accounts are declared with a ``type:`` tag from their
root, commodities with a format at their scale. The last posting of each account x commodity
carries an ``=`` assertion of the running balance after it (hledger's semantics: after the
posting, this commodity only, subaccounts excluded), so the journal's assertions hold.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from ledger_audit.demo.vendors.beancount import account_names, decimal_text, latest_versions
from ledger_audit.sources.ledger_frames import LedgerFrames

TYPE_TAGS = {
    "Assets": "A",
    "Liabilities": "L",
    "Equity": "E",
    "Income": "R",
    "Expenses": "X",
}
"""Beancount-style root -> hledger account type."""


def write_hledger(frames: LedgerFrames, path: Path) -> Path:
    """Write ``frames`` (one ledger) to ``path`` as an hledger journal; returns ``path``."""
    kept, entries = latest_versions(frames)
    accounts = frames.accounts.sort("account_id")
    accounts = accounts.with_columns(account_names(accounts["account_id"]).alias("account"))
    commodities = frames.assets.sort("asset_id").select(
        pl.format(
            "commodity {} {}",
            decimal_text(pl.lit(1000) * pl.lit(10).pow(pl.col("scale")), pl.col("scale")),
            "code",
        )
    )
    declared = accounts.select(
        pl.format(
            "account {}  ; type: {}",
            "account",
            pl.col("account")
            .str.split(":")
            .list.first()
            .replace_strict(TYPE_TAGS, default="A", return_dtype=pl.String),
        )
    )
    last = pl.col("row") == pl.col("row").max().over("account", "commodity")
    lines = (
        entries.sort("position", "entry_index")
        .with_row_index("row")
        .with_columns(pl.col("units").cum_sum().over("account", "commodity").alias("running"))
        .with_columns(
            pl.format(
                "    {}  {} {}{}",
                "account",
                decimal_text(pl.col("units"), pl.col("scale")),
                "commodity",
                pl.when(last)
                .then(
                    pl.format(
                        " = {} {}", decimal_text(pl.col("running"), pl.col("scale")), "commodity"
                    )
                )
                .otherwise(pl.lit("")),
            ).alias("line")
        )
        .group_by("position", maintain_order=True)
        .agg(pl.col("line").str.join("\n"))
    )
    bodies = (
        kept.join(lines, on="position", how="left")
        .sort("position")
        .select(
            pl.format(
                "{} {} {}  ; id:{}\n{}\n",
                pl.col("date").cast(pl.String),
                "flag",
                pl.col("text").str.strip_chars(),
                "transaction_id",
                pl.col("line").fill_null(""),
            )
        )
        .to_series()
    )
    title = str(frames.ledgers["name"].first()) if frames.ledgers.height else path.stem
    text = "\n".join(
        [
            f"; {title}",
            "",
            *commodities.to_series().to_list(),
            "",
            *declared.to_series().to_list(),
            "",
            *bodies.to_list(),
        ]
    )
    path.write_text(text, encoding="utf-8")
    return path
