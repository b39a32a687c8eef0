"""Beancount's native checks: its loader's errors, the assertions replayed, what was not loaded.

Beancount checks ``balance`` directives inside its loader. The audit does not take that
verdict on trust: ``plaintext.replay_assertions`` re-derives every assertion from the
postings that were loaded, with Beancount's semantics (start of day, so the day's own
postings are excluded; subaccounts included; the directive's tolerance or the inferred one).
The loader's "Balance failed" errors are then compared with the replay: where both fail, one
``balance.assertion_failed`` finding; where they disagree, ``source.inconsistent``. Every
other loader error (syntax, an unbalanced transaction, an unknown account, booking) is one
``source.loader_error`` at its ``file:line``.
"""

from __future__ import annotations

from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.beancount.read import BeancountRead
from ledger_audit.sources.adapters.plaintext import (
    PlainFrames,
    assertion_check,
    loader_check,
    unsupported_check,
)


def native_checks(read: BeancountRead, loaded: PlainFrames) -> tuple[NativeCheck, ...]:
    """The loader's errors, the assertions, and the unsupported transactions, in that order."""
    plain = read.plain
    errors = [(e.locator, e.message) for e in read.errors if not e.balance_failed]
    tool_failed = frozenset(e.locator for e in read.errors if e.balance_failed)
    directives = (
        plain.transactions.height
        + plain.accounts.height
        + plain.assertions.height
        + sum(read.skipped.values())
    )
    return (
        loader_check(plain, "beancount_loader", errors, directives),
        assertion_check(plain, loaded, "beancount_assertions", tool_failed),
        unsupported_check(plain, loaded, "beancount_unsupported"),
    )
