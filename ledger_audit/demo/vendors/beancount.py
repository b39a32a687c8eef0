"""Write canonical frames (the demo ledger) as a Beancount v3 file, with balance assertions.

A plain-text ledger holds one state per transaction, so each transaction is written as the
version that counts last (the latest): posted as ``*``, pending as ``!``; an archived one
(a voided hold) and a pending one another transaction resolved count nowhere and are left
out. Its date is the effective time's UTC date; transactions are written in (effective time,
id) order, so file order is date order. Canonical account ids become Beancount names by
``plain_account`` (``assets:bank:operating:usd`` -> ``Assets:Bank:Operating:Usd``,
``revenue:`` -> ``Income:``); the adapter reads them back under those names. Each commodity
is declared with ``scale:`` metadata, and one ``balance`` directive per account x commodity,
the day after the last transaction, asserts the final balance (subaccounts included), so the
file's assertions hold. Everything is built as polars string columns; no loop per row.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ledger_audit.sources.ledger_frames import LedgerFrames

ROOTS = {
    "assets": "Assets",
    "liabilities": "Liabilities",
    "equity": "Equity",
    "revenue": "Income",
    "income": "Income",
    "expenses": "Expenses",
    "expense": "Expenses",
}
"""Canonical root -> Beancount root (Beancount's five classes)."""

_DAY_NS = 86_400_000_000_000


def plain_account(account_id: str) -> str:
    """The Beancount (and hledger) name of a canonical account id.

    The root maps through ROOTS; every other component keeps its letters, digits and dashes
    (anything else becomes ``-``) and starts with a capital (``X`` is prefixed when it does
    not start with a letter or digit), as Beancount requires.
    """
    root, *rest = account_id.split(":")
    parts = [ROOTS.get(root.lower(), root.capitalize())]
    for part in rest:
        clean = re.sub(r"[^A-Za-z0-9-]", "-", part) or "X"
        if not clean[0].isalnum():
            clean = "X" + clean
        parts.append(clean[0].upper() + clean[1:])
    return ":".join(parts)


def account_names(accounts: pl.Series) -> pl.Series:
    """``plain_account`` over a column of distinct ids (one call per account, not per row)."""
    return accounts.map_elements(plain_account, return_dtype=pl.String)


def latest_versions(frames: LedgerFrames) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(transactions, entries) of the version of each transaction that counts last.

    Transactions carry ``position`` (file order), ``date`` (UTC), ``flag`` (``*``/``!``);
    entries carry ``account`` (the plain name), ``commodity``, ``scale`` and signed ``units``.
    """
    tx = frames.transactions
    latest = tx.filter(
        pl.col("version") == pl.col("version").max().over("ledger_id", "transaction_id")
    )
    resolved = (
        latest.filter(pl.col("pending_transaction_id").is_not_null())
        .select("ledger_id", pl.col("pending_transaction_id").alias("transaction_id"))
        .unique()
    )
    kept = (
        latest.filter(pl.col("status").is_in(["posted", "pending"]))
        .join(
            resolved.with_columns(pl.lit(value=True).alias("_resolved")),
            on=["ledger_id", "transaction_id"],
            how="left",
        )
        .filter(~((pl.col("status") == "pending") & pl.col("_resolved").fill_null(value=False)))
        .sort("effective_ns", "ledger_id", "transaction_id")
        .with_row_index("position", offset=1)
        .select(
            pl.col("position").cast(pl.Int64),
            "ledger_id",
            "transaction_id",
            "version",
            pl.from_epoch("effective_ns", time_unit="ns").dt.date().alias("date"),
            pl.when(pl.col("status") == "pending")
            .then(pl.lit("!"))
            .otherwise(pl.lit("*"))
            .alias("flag"),
            pl.col("description").fill_null("").str.replace_all(r'["\\;\n\r]', " ").alias("text"),
        )
    )
    names = frames.entries.select(pl.col("account_id").unique())
    names = names.with_columns(account_names(names["account_id"]).alias("account"))
    entries = (
        frames.entries.join(
            kept.select("ledger_id", "transaction_id", "version", "position", "date"),
            on=["ledger_id", "transaction_id", "version"],
            how="inner",
        )
        .join(names, on="account_id", how="left")
        .with_columns(
            pl.col("asset_id").str.split("/").list.first().alias("commodity"),
            pl.col("asset_id").str.split("/").list.get(1).cast(pl.Int32).alias("scale"),
            pl.when(pl.col("direction") == "debit")
            .then(pl.col("amount"))
            .otherwise(-pl.col("amount"))
            .alias("units"),
        )
        .sort("position", "entry_index")
    )
    return kept, entries


def decimal_text(units: pl.Expr, scale: pl.Expr) -> pl.Expr:
    """Signed minor units as exact decimal text at ``scale`` (``-1234`` at 2 -> ``-12.34``)."""
    digits = units.abs().cast(pl.String).str.zfill(scale + 1)
    cut = digits.str.len_chars() - scale
    whole = digits.str.slice(0, cut)
    fraction = digits.str.slice(cut)
    number = pl.when(scale > 0).then(pl.format("{}.{}", whole, fraction)).otherwise(digits)
    return pl.when(units < 0).then(pl.format("-{}", number)).otherwise(number)


def final_balances(entries: pl.DataFrame, accounts: pl.Series) -> pl.DataFrame:
    """Per asserted account x commodity: the sum of its and its subaccounts' units."""
    sums = entries.group_by("account", "commodity", "scale").agg(pl.col("units").sum())
    asserted = pl.DataFrame({"asserted": accounts}).unique()
    return (
        asserted.join(sums, how="cross")
        .filter(
            (pl.col("account") == pl.col("asserted"))
            | pl.col("account").str.starts_with(pl.col("asserted") + ":")
        )
        .group_by("asserted", "commodity", "scale")
        .agg(pl.col("units").sum())
        .sort("asserted", "commodity")
    )


def write_beancount(frames: LedgerFrames, path: Path) -> Path:
    """Write ``frames`` (one ledger) to ``path`` as a Beancount file; returns ``path``."""
    kept, entries = latest_versions(frames)
    assets = frames.assets.sort("asset_id")
    accounts = frames.accounts.sort("account_id").with_columns(
        account_names(frames.accounts.sort("account_id")["account_id"]).alias("account"),
        pl.from_epoch("opened_ns", time_unit="ns").dt.date().alias("opened"),
        pl.col("asset_id").str.split("/").list.first().alias("currency"),
    )
    first_day = accounts["opened"].min()
    title = frames.ledgers["name"].first() if frames.ledgers.height else path.stem
    header = [f'option "title" "{_quoted(str(title))}"', ""]
    commodities = assets.select(
        pl.format("{} commodity {}\n  scale: {}\n", pl.lit(str(first_day)), "code", "scale")
    ).to_series()
    opens = accounts.select(
        pl.format(
            "{} open {}{}",
            pl.col("opened").cast(pl.String),
            "account",
            pl.when(pl.col("currency").is_not_null())
            .then(pl.format(" {}", "currency"))
            .otherwise(pl.lit("")),
        )
    ).to_series()
    postings = (
        entries.with_columns(
            pl.format(
                "  {}  {} {}",
                "account",
                decimal_text(pl.col("units"), pl.col("scale")),
                "commodity",
            ).alias("line")
        )
        .group_by("position", maintain_order=True)
        .agg(pl.col("line").str.join("\n"))
    )
    bodies = (
        kept.join(postings, on="position", how="left")
        .sort("position")
        .select(
            pl.format(
                '{} {} "{}"\n  id: "{}"\n{}\n',
                pl.col("date").cast(pl.String),
                "flag",
                "text",
                "transaction_id",
                pl.col("line").fill_null(""),
            )
        )
        .to_series()
    )
    last_day = kept["date"].max() if kept.height else first_day
    check_day = str(pl.select(pl.lit(last_day).dt.offset_by("1d")).item())
    balances = (
        final_balances(entries, accounts["account"])
        .select(
            pl.format(
                "{} balance {}  {} {}",
                pl.lit(check_day),
                "asserted",
                decimal_text(pl.col("units"), pl.col("scale")),
                "commodity",
            )
        )
        .to_series()
    )
    text = "\n".join(
        [
            *header,
            *commodities.to_list(),
            *opens.to_list(),
            "",
            *bodies.to_list(),
            *balances.to_list(),
            "",
        ]
    )
    path.write_text(text, encoding="utf-8")
    return path


def _quoted(text: str) -> str:
    return text.replace("\\", " ").replace('"', " ")
