"""Run Beancount's own loader over a file and lay its directives out in columns.

The loader is Beancount's full pipeline (parse, booking, plugins, validation), run step by
step through its loader functions: ``loader.load_file`` may write a ``.NAME.picklecache``
beside the audited file (or, with the cache disabled, delete one), and the audited source is
never written. Plugins are Python code the file names: Beancount's own (``beancount.*``) run,
any other plugin and the file's ``insert_pythonpath`` only when ``PLUGINS_ENV`` says ``run``,
since an audited file must not be able to run code of its choosing on the auditor's machine.
Every directive the canonical ledger has a place for becomes a row; the others
(prices, notes, events, documents, queries, custom) are counted in the notes.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
from beancount import loader
from beancount.core import data
from beancount.ops import validation
from beancount.parser import booking

from ledger_audit.sources.adapters.plaintext import (
    ACCOUNT_COLUMNS,
    ASSERTION_COLUMNS,
    POSTING_COLUMNS,
    TRANSACTION_COLUMNS,
    PlainLedger,
    frame_of,
    metadata_json,
)

SCALE_KEY = "scale"
"""The metadata key of a ``commodity`` directive that declares its scale (``scale: 2``)."""

PLUGINS_ENV = "LEDGER_AUDIT_BEANCOUNT_PLUGINS"
"""Set to ``run`` to run every plugin the file names, not only Beancount's own."""
TRUSTED_PLUGINS = "beancount."
"""Plugins shipped inside the beancount package: they run by default."""

_UNKNOWN_FILE = 1 << 30
_MAX_SCALE = 38


@dataclass(frozen=True, slots=True)
class LoaderError:
    """One error Beancount's loader reported: where, and its message (first line)."""

    locator: str
    message: str
    balance_failed: bool


@dataclass(frozen=True, slots=True, eq=False)
class BeancountRead:
    """What the loader gave: the columns, its errors, and the directives it skipped."""

    plain: PlainLedger
    errors: tuple[LoaderError, ...]
    skipped: Mapping[str, int]
    plugins: tuple[str, ...]
    held: tuple[str, ...] = ()
    """Plugins the file names that were not run (not Beancount's own, no ``PLUGINS_ENV``)."""


def locator_of(meta: Mapping[str, Any] | None) -> str:
    """``file:line`` of a directive or error source (``?`` where Beancount gives none)."""
    if not meta:
        return "?"
    return f"{meta.get('filename', '?')}:{meta.get('lineno', '?')}"


def read_file(
    path: Path, *, zone: str, scales: Mapping[str, int], ledger_id: str | None
) -> BeancountRead:
    """Load ``path`` with Beancount and return its rows in columns (no audit yet)."""
    entries, errors, options, held = _load(path.resolve())
    tx, posts = _transaction_columns(entries, str(path.resolve()))
    directives = _Directives(options)
    for entry in entries:
        directives.add(entry)
    plain = PlainLedger(
        adapter="beancount",
        source=str(path),
        ledger_id=ledger_id or path.stem,
        title=str(options.get("title") or path.stem),
        zone=zone,
        transactions=frame_of(tx, TRANSACTION_COLUMNS),
        postings=frame_of(posts, POSTING_COLUMNS),
        accounts=directives.accounts_frame(),
        assertions=frame_of(directives.asserts, ASSERTION_COLUMNS),
        scales={**directives.declared, **scales},
    )
    loader_errors = tuple(
        LoaderError(
            locator_of(error.source),
            _first_line(str(error.message)),
            str(error.message).startswith("Balance failed"),
        )
        for error in errors
    )
    plugins = tuple(str(name) for name, _ in options.get("plugin", []))
    skipped = dict(sorted(directives.skipped.items()))
    return BeancountRead(plain, loader_errors, skipped, plugins, held)


def _load(path: Path) -> tuple[list[Any], list[Any], dict[str, Any], tuple[str, ...]]:
    """Beancount's uncached load pipeline, holding back plugins that are not its own.

    Returns the entries, the errors, the options and the names of the plugins not run.
    """
    entries, errors, options = loader._parse_recursive([(str(path), True)], None)  # noqa: SLF001
    entries.sort(key=data.entry_sortkey)
    entries, booking_errors = booking.book(entries, options)  # type: ignore[no-untyped-call]
    errors.extend(booking_errors)
    named = list(options.get("plugin", []))
    run_all = os.environ.get(PLUGINS_ENV, "").strip().lower() == "run"
    held = (
        ()
        if run_all
        else tuple(str(name) for name, _ in named if not str(name).startswith(TRUSTED_PLUGINS))
    )
    options["plugin"] = [(name, config) for name, config in named if name not in held]
    saved = list(sys.path)
    try:
        if run_all and options.get("pythonpath"):
            sys.path[0:0] = options["pythonpath"]
        entries, errors = loader.run_transformations(entries, errors, options, None)
    finally:
        sys.path[:] = saved
    options["plugin"] = named
    errors.extend(validation.validate(entries, options, None, None))  # type: ignore[no-untyped-call]
    return entries, errors, options, held


def _first_line(message: str) -> str:
    lines = message.strip().splitlines()
    return lines[0] if lines else ""


Columns = dict[str, list[object]]


def _transaction_columns(entries: list[Any], top: str) -> tuple[Columns, Columns]:
    """Transactions and postings in file order: the top file, then included files by path.

    Beancount keeps no order between files (its ``include`` option lists them unordered), so
    the order is the top-level file's lines, then each included file's by its path.
    """
    names = sorted({str(e.meta.get("filename")) for e in entries if e.meta} - {top})
    files = {name: i for i, name in enumerate([top, *names])}
    tx: Columns = {name: [] for name in TRANSACTION_COLUMNS}
    posts: Columns = {name: [] for name in POSTING_COLUMNS}
    transactions = sorted(
        (e for e in entries if isinstance(e, data.Transaction)),
        key=lambda e: (
            files.get(str(e.meta.get("filename")), _UNKNOWN_FILE),
            e.meta.get("lineno") or 0,
        ),
    )
    for position, entry in enumerate(transactions, start=1):
        where = locator_of(entry.meta)
        tx["position"].append(position)
        tx["date"].append(entry.date)
        tx["status"].append("pending" if entry.flag == "!" else "posted")
        tx["description"].append(entry.narration or None)
        tx["metadata"].append(
            metadata_json(
                {
                    "source": where,
                    "flag": entry.flag,
                    "payee": entry.payee,
                    "tags": sorted(entry.tags or ()),
                    "links": sorted(entry.links or ()),
                }
            )
        )
        tx["locator"].append(where)
        tx["unsupported"].append(_unsupported(entry))
        for index, posting in enumerate(entry.postings):
            units = posting.units
            posts["position"].append(position)
            posts["posting_index"].append(index)
            posts["account"].append(posting.account)
            posts["commodity"].append(getattr(units, "currency", None))
            posts["number"].append(_number_text(getattr(units, "number", None)))
            posts["locator"].append(where)
    return tx, posts


class _Directives:
    """Accounts, commodity scales, assertions and skipped directives, gathered in one pass."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.options = options
        self.roots = {
            str(options[f"name_{root}"]).lower(): normal
            for root, normal in (
                ("assets", "debit"),
                ("expenses", "debit"),
                ("liabilities", "credit"),
                ("equity", "credit"),
                ("income", "credit"),
            )
        }
        self.accounts: Columns = {name: [] for name in ACCOUNT_COLUMNS}
        self.asserts: Columns = {name: [] for name in ASSERTION_COLUMNS}
        self.declared: dict[str, int] = {}
        self.closes: dict[str, object] = {}
        self.skipped: Counter[str] = Counter()

    def add(self, entry: data.Directive) -> None:
        """Take one directive (transactions are read elsewhere)."""
        if isinstance(entry, (data.Transaction, data.Pad)):
            return
        if isinstance(entry, data.Open):
            currencies = entry.currencies or []
            self.accounts["account"].append(entry.account)
            self.accounts["normal_balance"].append(
                self.roots.get(entry.account.split(":", 1)[0].lower(), "debit")
            )
            self.accounts["currency"].append(currencies[0] if len(currencies) == 1 else None)
            self.accounts["opened"].append(entry.date)
            self.accounts["locator"].append(locator_of(entry.meta))
        elif isinstance(entry, data.Close):
            self.closes[entry.account] = entry.date
        elif isinstance(entry, data.Commodity):
            scale = (entry.meta or {}).get(SCALE_KEY)
            if (
                isinstance(scale, (int, Decimal))
                and int(scale) == scale
                and 0 <= scale <= _MAX_SCALE
            ):
                self.declared[entry.currency] = int(scale)
        elif isinstance(entry, data.Balance):
            self._assertion(entry)
        else:
            self.skipped[type(entry).__name__.lower()] += 1

    def _assertion(self, entry: data.Balance) -> None:
        asserts = self.asserts
        asserts["locator"].append(locator_of(entry.meta))
        asserts["date"].append(entry.date)
        asserts["account"].append(entry.account)
        asserts["commodity"].append(entry.amount.currency)
        asserts["number"].append(_number_text(entry.amount.number))
        asserts["tolerance"].append(_tolerance(entry, self.options))
        asserts["subaccounts"].append(True)
        asserts["cut_position"].append(0)
        asserts["cut_index"].append(-1)
        asserts["total"].append(False)

    def accounts_frame(self) -> pl.DataFrame:
        """ACCOUNT_COLUMNS, with each account's Close date, sorted by name."""
        columns = dict(self.accounts)
        columns["closed"] = [self.closes.get(str(a)) for a in columns["account"]]
        return frame_of(columns, ACCOUNT_COLUMNS).sort("account")


def _number_text(number: object) -> str | None:
    """Exact fixed-point text of a Beancount number (never an exponent, never a float)."""
    if isinstance(number, Decimal) and number.is_finite():
        return f"{number:f}"
    return None


def _tolerance(entry: data.Balance, options: Mapping[str, Any]) -> str:
    """Beancount's tolerance for one ``balance`` directive (ops/balance.py semantics).

    The directive's own ``~ tolerance``, else, for a number with decimals, twice the
    ``tolerance_multiplier`` option (0.5 by default) at its last decimal; else exact.
    """
    if entry.tolerance is not None:
        return f"{entry.tolerance:f}"
    number = entry.amount.number
    exponent = number.as_tuple().exponent if number is not None else 0
    if isinstance(exponent, int) and exponent < 0:
        multiplier = Decimal(str(options.get("tolerance_multiplier", Decimal("0.5"))))
        return f"{Decimal(1).scaleb(exponent) * multiplier * 2:f}"
    return "0"


def _unsupported(entry: data.Transaction) -> str | None:
    """Why the canonical ledger cannot carry this transaction (cost, price), or None."""
    reasons = sorted(
        {
            reason
            for posting in entry.postings
            for reason, present in (
                ("a cost or lot", posting.cost is not None),
                ("a price", posting.price is not None),
            )
            if present
        }
    )
    return " and ".join(f"a posting with {r}" for r in reasons) or None
