"""Small reconciliations written in the tests: a text ledger and a few bank lines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from ledger_audit.reconcile.internal import internal_items
from ledger_audit.reconcile.match import Reconciliation, reconcile
from ledger_audit.sources.bank.records import RECORD_SCHEMA
from ledger_audit.sources.match_rules import BankAccount, MatchRules, Rail
from tests.text_ledger import ledger_from_text

DAY = 86_400
START = dt.date(2025, 1, 1)

RULES = MatchRules(
    version="test",
    accounts=(BankAccount("ACC", "USD/2", "assets:bank"),),
    default_rail=Rail("default", 1, 3),
    rails=(Rail("ach", 0, 5, external_id_prefixes=("ach-",)),),
)

HEADER = """
account assets:bank debit USD/2
account income credit USD/2
"""


def day(n: int) -> dt.date:
    """The n-th day of January 2025 counted from 0."""
    return START + dt.timedelta(days=n)


def tx(
    ident: str,
    amount: int,
    on: int,
    *,
    ext: str | None = None,
    key: str | None = None,
    extra: str = "",
) -> str:
    """A posted transaction moving ``amount`` into (positive) or out of the bank on day ``on``."""
    words = [f"tx {ident} standard posted at={on * DAY + 3600}"]
    if ext:
        words.append(f"ext={ext}")
    if key:
        words.append(f"key={key}")
    if extra:
        words.append(extra)
    bank, other = ("debit", "credit") if amount > 0 else ("credit", "debit")
    return (
        " ".join(words)
        + f"\n  assets:bank {bank} {abs(amount)} USD/2\n  income {other} {abs(amount)} USD/2\n"
    )


def ledger_items(*transactions: str, rules: MatchRules = RULES) -> pl.DataFrame:
    """The internal items of a ledger holding ``transactions``."""
    return internal_items(ledger_from_text(HEADER + "\n".join(transactions)), rules)


def records(*rows: dict[str, Any]) -> pl.DataFrame:
    """Bank records: each row gives ``amount`` and ``on`` (day) and any RECORD_SCHEMA column."""
    full = []
    for number, row in enumerate(rows, start=1):
        base: dict[str, Any] = {
            "source": "canonical",
            "file": "bank.csv",
            "line": number,
            "record_id": f"r{number}",
            "statement_id": "s1",
            "account_ref": "ACC",
            "asset_id": "USD/2",
            "status": "BOOK",
            "reversal": False,
        }
        extra = {k: v for k, v in row.items() if k != "on"}
        base.update(extra)
        base["booking_date"] = day(row["on"])
        full.append({name: base.get(name) for name in RECORD_SCHEMA})
    return pl.DataFrame(full, schema=RECORD_SCHEMA)


def run(
    items: pl.DataFrame, bank: pl.DataFrame, *, rules: MatchRules = RULES, as_of: int = 30
) -> Reconciliation:
    """Reconcile with ages counted to day ``as_of``."""
    return reconcile(items, bank, rules, as_of=day(as_of))


def matched(result: Reconciliation) -> set[tuple[str, str, str, tuple[str, ...], tuple[str, ...]]]:
    """(stage, rule, status, ledger transaction ids, record ids) of every match."""
    out = set()
    for match in result.matches.iter_rows(named=True):
        links = result.links.filter(pl.col("match_id") == match["match_id"])
        internal = links.filter(pl.col("side") == "internal")["item_id"].to_list()
        external = links.filter(pl.col("side") == "external")["item_id"].to_list()
        out.add(
            (
                match["stage_name"],
                match["rule"],
                match["status"],
                tuple(sorted(i.split(":")[1] for i in internal)),
                tuple(sorted(external)),
            )
        )
    return out


def classes(result: Reconciliation) -> dict[str, str]:
    """Break class by transaction id (ledger items) or record id."""
    out = {}
    for row in result.breaks.iter_rows(named=True):
        name = row["transaction_id"] if row["side"] == "internal" else row["item_id"]
        out[name] = row["class"]
    return out
