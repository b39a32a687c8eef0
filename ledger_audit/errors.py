"""Operational errors: bad input, bad configuration, a rejected write.

Audit failures are never exceptions: they are findings (``ledger_audit.findings``). These
exceptions are for what stops a step from running, and each names where and what.
"""

from __future__ import annotations

EXCERPT_CHARS = 60
"""The longest excerpt of input an error quotes (a cell, a line, a token)."""

REASON_CHARS = 300
"""The longest reason an error gives: library messages can quote megabytes of input."""

_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(32), 127)} | {
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
}


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line (control characters escaped), cut to ``limit`` characters.

    What was cut is said (``...[+4,194,301 chars]``), so a short excerpt never passes for
    the whole value. Head and tail are kept: a library message often ends with its point
    (``... is not properly escaped``) after quoting the input.
    """
    flat = text.translate(_ESCAPES)
    if len(flat) <= limit:
        return flat
    head = max(limit * 2 // 3, 1)
    tail = max(limit - head, 0)
    cut = len(flat) - head - tail
    return f"{flat[:head]}...[+{cut:,} chars]...{flat[len(flat) - tail :]}"


class LedgerAuditError(Exception):
    """Base of every error this package raises on purpose; the CLI prints it without a traceback."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it in a notebook: one line, no traceback (like the CLI)."""
        return [f"{type(self).__name__}: {self}"]


class InputError(LedgerAuditError):
    """An input (file, table, row, parameter) that cannot be used, with where and why.

    Both parts are cut to one line of at most ``REASON_CHARS`` characters (``excerpt``):
    a reason that wraps a library's message (a CSV parser quoting the rest of the file, a
    driver appending its query) stays one short line.
    """

    def __init__(self, locator: str, reason: str) -> None:
        self.locator = excerpt(locator, REASON_CHARS)
        self.reason = excerpt(reason, REASON_CHARS)
        super().__init__(f"{self.locator}: {self.reason}")

    def __reduce__(self) -> tuple[object, ...]:
        """Pickled as its type, locator and reason (raised again by a parent process as it was).

        Both parts are already cut, and cutting a cut part again would change it, so they
        are restored as they are rather than passed through ``__init__``.
        """
        return _input_error, (type(self), self.locator, self.reason)


def _input_error(kind: type[InputError], locator: str, reason: str) -> InputError:
    error = kind.__new__(kind)
    error.locator, error.reason = locator, reason
    Exception.__init__(error, f"{locator}: {reason}")
    return error


class PostRejected(LedgerAuditError):
    """The reference ledger refused a write; nothing was written.

    ``code`` is stable (``unbalanced``, ``unknown_account``, ``idempotency_conflict``, ...)
    so callers can branch on it; the message says which entry or field was wrong.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")
