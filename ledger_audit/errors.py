"""Operational errors: bad input, bad configuration, a rejected write.

Audit failures are never exceptions: they are findings (``ledger_audit.findings``). These
exceptions are for what stops a step from running, and each names where and what.
"""

from __future__ import annotations


class LedgerAuditError(Exception):
    """Base of every error this package raises on purpose; the CLI prints it without a traceback."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it in a notebook: one line, no traceback (like the CLI)."""
        return [f"{type(self).__name__}: {self}"]


class InputError(LedgerAuditError):
    """An input (file, table, row, parameter) that cannot be used, with where and why."""

    def __init__(self, locator: str, reason: str) -> None:
        self.locator = locator
        self.reason = reason
        super().__init__(f"{locator}: {reason}")


class PostRejected(LedgerAuditError):
    """The reference ledger refused a write; nothing was written.

    ``code`` is stable (``unbalanced``, ``unknown_account``, ``idempotency_conflict``, ...)
    so callers can branch on it; the message says which entry or field was wrong.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")
