"""hledger's JSON (``print -x -O json``) and account types, laid out in columns.

``print -x`` makes every amount explicit (hledger's own inference and balancing), splitting
a multi-commodity posting into one amount per commodity. Quantities are read exactly from
``decimalMantissa`` and ``decimalPlaces``, never from ``floatingPoint``. File order is
hledger's ``tindex`` (parse order across includes). Account classes come from
``accounts --types`` (``type:`` tags, or hledger's inference from the names).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledger_audit.errors import InputError, excerpt
from ledger_audit.sources.adapters.plaintext import (
    ACCOUNT_COLUMNS,
    ASSERTION_COLUMNS,
    POSTING_COLUMNS,
    TRANSACTION_COLUMNS,
    PlainLedger,
    frame_of,
    metadata_json,
    normal_from_root,
)

TYPE_NORMAL = {
    "A": "debit",
    "C": "debit",
    "X": "debit",
    "L": "credit",
    "E": "credit",
    "R": "credit",
    "V": "credit",
}
"""hledger account type -> normal balance (Asset, Cash, eXpense; Liability, Equity,
Revenue, conVersion)."""

Columns = dict[str, list[object]]
_TYPE_MARK = "; type:"


def _locator(position: Mapping[str, Any] | None) -> str:
    if not position:
        return "?"
    return f"{position.get('sourceName', '?')}:{position.get('sourceLine', '?')}"


def _number(quantity: Mapping[str, Any]) -> str:
    """Exact decimal text from hledger's mantissa and decimal places."""
    value = Decimal(int(quantity["decimalMantissa"])).scaleb(-int(quantity["decimalPlaces"]))
    return f"{value:f}"


def parse_transactions(text: str, journal: Path) -> tuple[Columns, Columns, Columns]:
    """(transactions, postings, assertions) columns from ``print -O json`` output."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"--adapter hledger: {journal}",
            f"hledger's JSON could not be read ({excerpt(str(exc))}); expected hledger 1.25+",
        ) from exc
    tx: Columns = {name: [] for name in TRANSACTION_COLUMNS}
    posts: Columns = {name: [] for name in POSTING_COLUMNS}
    asserts: Columns = {name: [] for name in ASSERTION_COLUMNS}
    for item in sorted(parsed, key=lambda t: int(t["tindex"])):
        position = int(item["tindex"])
        where = _locator((item.get("tsourcepos") or [None])[0])
        date = dt.date.fromisoformat(item["tdate"])
        tx["position"].append(position)
        tx["date"].append(date)
        tx["status"].append("pending" if item.get("tstatus") == "Pending" else "posted")
        tx["description"].append(item.get("tdescription") or None)
        tx["metadata"].append(
            metadata_json(
                {
                    "source": where,
                    "status": item.get("tstatus"),
                    "code": item.get("tcode"),
                    "date2": item.get("tdate2"),
                    "tags": [f"{k}:{v}" if v else k for k, v in item.get("ttags") or []],
                }
            )
        )
        tx["locator"].append(where)
        tx["unsupported"].append(_unsupported(item["tpostings"]))
        index = -1
        for posting in item["tpostings"]:
            for amount in posting.get("pamount") or []:
                if amount["acommodity"] == "" and int(amount["aquantity"]["decimalMantissa"]) == 0:
                    continue  # a bare 0 moves nothing in no commodity
                index += 1
                posts["position"].append(position)
                posts["posting_index"].append(index)
                posts["account"].append(posting["paccount"])
                posts["commodity"].append(amount["acommodity"])
                posts["number"].append(_number(amount["aquantity"]))
                posts["locator"].append(where)
            check = posting.get("pbalanceassertion")
            if check:
                asserted = check["baamount"]
                asserts["locator"].append(_locator(check.get("baposition")))
                asserts["date"].append(date)
                asserts["account"].append(posting["paccount"])
                asserts["commodity"].append(asserted["acommodity"])
                asserts["number"].append(_number(asserted["aquantity"]))
                asserts["tolerance"].append("0")
                asserts["subaccounts"].append(bool(check.get("bainclusive")))
                asserts["cut_position"].append(position)
                asserts["cut_index"].append(index)
                asserts["total"].append(bool(check.get("batotal")))
    return tx, posts, asserts


def _unsupported(postings: list[Mapping[str, Any]]) -> str | None:
    """Why the canonical ledger cannot carry this transaction (price, virtual...), or None."""
    reasons: set[str] = set()
    for posting in postings:
        if any(amount.get("aprice") is not None for amount in posting.get("pamount") or []):
            reasons.add("a posting with a price")
        if posting.get("ptype") != "RegularPosting":
            reasons.add("a virtual posting")
        if posting.get("pdate") is not None:
            reasons.add("a posting with its own date")
    return " and ".join(sorted(reasons)) or None


def parse_accounts(text: str) -> tuple[Columns, tuple[str, ...]]:
    """ACCOUNT_COLUMNS from ``accounts --types``, and the accounts of no known class."""
    columns: Columns = {name: [] for name in ACCOUNT_COLUMNS}
    unknown: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        name, _, kind = line.partition(_TYPE_MARK)
        account = name.strip()
        normal = TYPE_NORMAL.get(kind.strip()[:1]) or normal_from_root(account)
        if normal is None:
            unknown.append(account)
            normal = "debit"
        columns["account"].append(account)
        columns["normal_balance"].append(normal)
        columns["currency"].append(None)
        columns["opened"].append(None)
        columns["closed"].append(None)
        columns["locator"].append(None)
    return columns, tuple(unknown)


def plain_ledger(
    journal: Path,
    tx: Columns,
    posts: Columns,
    asserts: Columns,
    accounts: Columns,
    *,
    zone: str,
    scales: Mapping[str, int],
    ledger_id: str | None,
) -> PlainLedger:
    """The columns as a PlainLedger of the hledger adapter."""
    return PlainLedger(
        adapter="hledger",
        source=str(journal),
        ledger_id=ledger_id or journal.stem,
        title=journal.stem,
        zone=zone,
        transactions=frame_of(tx, TRANSACTION_COLUMNS),
        postings=frame_of(posts, POSTING_COLUMNS),
        accounts=frame_of(accounts, ACCOUNT_COLUMNS).sort("account"),
        assertions=frame_of(asserts, ASSERTION_COLUMNS),
        scales=dict(scales),
    )
