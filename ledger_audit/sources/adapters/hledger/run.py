"""Run the ``hledger`` program, time-boxed, and turn its own errors into located records.

hledger reads the journal (its parser, includes, amount inference, balancing); the adapter
reads its JSON. ``print`` runs with ``--ignore-assertions`` so a failing assertion does not
stop the load: the adapter checks every assertion itself. ``accounts`` runs with assertions
on, for hledger's own verdict to compare (hledger stops at its first failing assertion, so
that verdict covers the assertions up to it). Any other error stops hledger with no
output at all (a syntax error, an unbalanced transaction, a missing include): that error is
parsed for its ``file:line`` and becomes the load's one ``source.loader_error``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.errors import InputError, excerpt

PROGRAM = "hledger"
INSTALL_HINT = "install hledger: scripts/ensure-tools.sh"
DEFAULT_TIMEOUT_S = 120.0

_AT_LINE = re.compile(r"^hledger(?:\.exe)?: (?P<file>.+?):(?P<line>\d+)(?::\d+)?:\s*$")
_ASSERTION = re.compile(
    r'^hledger(?:\.exe)?: balance assertion: "(?P<file>.+?)" \(line (?P<line>\d+), column \d+\)'
)
_AT_LINES = re.compile(r'^hledger(?:\.exe)?: "(?P<file>.+?)" \(lines? (?P<line>\d+)(?:-\d+)?\)')


@dataclass(frozen=True, slots=True)
class HledgerError:
    """hledger refused the journal: where (``file:line``, or the file) and its message.

    ``assertion`` is True when the error is a failing balance assertion (hledger stops at
    the first one, in date then parse order).
    """

    locator: str
    message: str
    assertion: bool = False


@dataclass(frozen=True, slots=True)
class TypedAccounts:
    """``accounts --types`` output, and hledger's own verdict on the assertions.

    ``first_failure`` is hledger's first failing assertion (it stops there), None when every
    assertion holds.
    """

    text: str
    first_failure: HledgerError | None


def typed_accounts(journal: Path, *, timeout_s: float) -> TypedAccounts | HledgerError:
    """The accounts with their types, and hledger's assertion verdict, in as few runs as can be.

    Run once with assertions on: when they all hold, that one run gives both. When one
    fails, hledger prints no accounts, so a second run with assertions ignored lists them.
    """
    checked = run(journal, ["accounts", "--types"], timeout_s=timeout_s, ignore_assertions=False)
    if isinstance(checked, str):
        return TypedAccounts(checked, None)
    if not checked.assertion:
        return checked
    listed = run(journal, ["accounts", "--types"], timeout_s=timeout_s)
    return TypedAccounts(listed, checked) if isinstance(listed, str) else listed


def binary() -> str:
    """The path of the hledger program; InputError saying how to install it when missing."""
    found = shutil.which(PROGRAM)
    if found is None:
        raise InputError(
            "--adapter hledger", f"the hledger program is not on PATH ({INSTALL_HINT})"
        )
    return found


def run(
    journal: Path, args: list[str], *, timeout_s: float, ignore_assertions: bool = True
) -> str | HledgerError:
    """The hledger program's stdout for ``args`` over ``journal``, or the error it reported.

    Raises:
        InputError: hledger is missing, or did not finish within ``timeout_s`` seconds.
    """
    ignore = ["--ignore-assertions"] if ignore_assertions else []
    command = [binary(), "-f", str(journal), *ignore, *args]
    environment = {**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    environment.pop("LEDGER_FILE", None)
    try:
        done = subprocess.run(  # noqa: S603 - a fixed program and our own arguments
            command,
            capture_output=True,
            check=False,
            timeout=timeout_s,
            env=environment,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise InputError(
            f"--adapter hledger: {journal}",
            f"hledger did not finish within {timeout_s:g} s (a larger timeout_s may help)",
        ) from exc
    if done.returncode == 0:
        return done.stdout.decode("utf-8")
    return located(done.stderr.decode("utf-8", errors="replace"), journal)


def located(stderr: str, journal: Path) -> HledgerError:
    """``file:line`` and the message of one hledger error (the file alone if it names none)."""
    lines = [line.rstrip() for line in stderr.strip().splitlines()]
    head = lines[0] if lines else ""
    match = _ASSERTION.match(head)
    if match:
        return HledgerError(f"{match['file']}:{match['line']}", _message(lines[1:]), assertion=True)
    for pattern in (_AT_LINE, _AT_LINES):
        match = pattern.match(head)
        if match:
            message = _message(lines[1:])
            return HledgerError(f"{match['file']}:{match['line']}", message)
    return HledgerError(str(journal), excerpt(head.removeprefix("hledger: ") or "no message"))


def _message(rest: list[str]) -> str:
    """The explanation under hledger's source excerpt (lines without the ``|`` gutter)."""
    text = [line.strip() for line in rest if line.strip() and "|" not in line]
    return " ".join(text[:2]) or "hledger reported an error"
