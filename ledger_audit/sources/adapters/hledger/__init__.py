"""``--adapter hledger``: an hledger journal read through the ``hledger`` program's JSON.

Stage 1 of the data flow (sources). hledger itself parses the journal; its JSON becomes
canonical rows through the shared plain-text conventions (``adapters/plaintext.py``). The
native checks are hledger's own errors (``source.loader_error``), every balance assertion
replayed with hledger's semantics (after the posting, inclusive; ``=``, ``==``, ``=*``,
``==*``), and the transactions the canonical ledger cannot carry (docs/adapters/hledger.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.findings import Severity
from ledger_audit.sources.adapters.adapted import Adapted, NativeCheck
from ledger_audit.sources.adapters.hledger.read import (
    parse_accounts,
    parse_transactions,
    plain_ledger,
)
from ledger_audit.sources.adapters.hledger.run import (
    DEFAULT_TIMEOUT_S,
    HledgerError,
    TypedAccounts,
    binary,
    run,
    typed_accounts,
)
from ledger_audit.sources.adapters.plaintext import (
    ACCOUNT_COLUMNS,
    ASSERTION_COLUMNS,
    POSTING_COLUMNS,
    TRANSACTION_COLUMNS,
    PlainLedger,
    assertion_check,
    loader_check,
    require_zone,
    to_frames,
    unsupported_check,
)

NAME = "hledger"

NOTES = (
    "an hledger journal has no hash chain: only the mirror seal vouches for the copy audited",
    (
        "an hledger journal records no time of entry, only dates: recorded time is not "
        "proven, file order stands for it"
    ),
    "an hledger journal carries no idempotency keys or external ids",
    "an hledger journal stores no balances: drift against a stored balance is not proven",
    (
        "an hledger transaction has a status mark, not a pending lifecycle: '!' reads as "
        "pending, never resolved or voided"
    ),
    (
        "an hledger account has no open date or negative-balance limit: accounts open on the "
        "journal's first date and allow negatives"
    ),
)


def check(source: str | Path) -> None:
    """Raise InputError unless ``source`` is a readable file and hledger is installed."""
    _journal(source)
    binary()


def _journal(source: str | Path) -> Path:
    path = Path(source)
    where = f"--adapter {NAME}: {path}"
    if not path.is_file():
        raise InputError(where, "is not a file (expected an hledger journal, e.g. main.journal)")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as exc:
        raise InputError(where, f"cannot be read: {exc.strerror or exc}") from exc
    return path


def load(
    source: str | Path,
    *,
    zone: str = "UTC",
    scales: Mapping[str, int] | None = None,
    ledger_id: str | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Adapted:
    """Read an hledger journal into canonical frames plus its native checks.

    Args:
        source: the journal (its includes are followed by hledger).
        zone: the IANA zone whose midnight starts each date (UTC unless given).
        scales: commodity -> scale; ISO 4217 is used for currency codes not given.
        ledger_id: the canonical ledger id (the file's stem unless given).
        timeout_s: how long each hledger run may take.
    """
    journal = _journal(source)
    require_zone(NAME, zone)
    printed = run(journal, ["print", "-x", "-O", "json"], timeout_s=timeout_s)
    typed = typed_accounts(journal, timeout_s=timeout_s) if isinstance(printed, str) else printed
    error = next((r for r in (printed, typed) if isinstance(r, HledgerError)), None)
    given = dict(scales or {})
    if error is not None or not isinstance(printed, str) or not isinstance(typed, TypedAccounts):
        empty = _empty(TRANSACTION_COLUMNS), _empty(POSTING_COLUMNS), _empty(ASSERTION_COLUMNS)
        plain = plain_ledger(
            journal, *empty, _empty(ACCOUNT_COLUMNS), zone=zone, scales=given, ledger_id=ledger_id
        )
        refused: tuple[str, ...] = (
            *NOTES,
            (
                "hledger refused the journal, so nothing in it was loaded or audited "
                "(see the loader error)"
            ),
        )
        loaded = to_frames(plain, refused)
        errors = [(error.locator, error.message)] if error is not None else []
        native: tuple[NativeCheck, ...] = (
            loader_check(
                plain, "hledger_loader", errors, 1, unit="journals", severity=Severity.CRITICAL
            ),
        )
        return Adapted(NAME, loaded.frames, loaded.report, native)
    tx, posts, asserts = parse_transactions(printed, journal)
    accounts, unknown = parse_accounts(typed.text)
    plain = plain_ledger(
        journal, tx, posts, asserts, accounts, zone=zone, scales=given, ledger_id=ledger_id
    )
    notes: tuple[str, ...] = NOTES
    if unknown:
        notes = (
            *notes,
            (
                f"{len(unknown)} account(s) have no type: tag and no class hledger infers "
                f"from the name, read as debit-normal: {', '.join(unknown[:5])}"
            ),
        )
    loaded = to_frames(plain, notes)
    failed, judged = _hledger_verdict(plain, typed.first_failure)
    native = (
        loader_check(plain, "hledger_loader", [], plain.transactions.height, unit="transactions"),
        assertion_check(plain, loaded, "hledger_assertions", failed, judged),
        unsupported_check(plain, loaded, "hledger_unsupported"),
    )
    return Adapted(NAME, loaded.frames, loaded.report, native)


def _hledger_verdict(
    plain: PlainLedger, first: HledgerError | None
) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(What hledger failed, what it judged) on the assertions.

    hledger stops at its first failure, so only the assertions up to it, in its (date,
    parse) order, were judged.
    """
    if plain.assertions.height == 0:
        return None, None
    if first is None:
        return frozenset(), None
    ordered = plain.assertions.sort("date", "cut_position", "cut_index", maintain_order=True)
    ordered = ordered.with_row_index("order")
    at = ordered.filter(pl.col("locator") == first.locator)["order"].min()
    if at is None:
        return frozenset({first.locator}), frozenset({first.locator})
    judged = ordered.filter(pl.col("order") <= at)["locator"]
    return frozenset({first.locator}), frozenset(judged.to_list())


def _empty(schema: Mapping[str, object]) -> dict[str, list[object]]:
    return {name: [] for name in schema}
