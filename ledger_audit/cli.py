"""The ``ledger-audit`` command.

Outside the data flow: it may call any stage. Operational errors (``LedgerAuditError``, and
``OSError`` for files) print as one line on stderr with exit code 2, never a traceback;
usage errors do the same.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from ledger_audit import __version__
from ledger_audit.errors import LedgerAuditError

PROG = "ledger-audit"
EXIT_OK = 0
EXIT_ERROR = 2


class _UsageError(Exception):
    """A bad command line; argparse would print usage and exit, we print one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _month(text: str) -> str:
    from ledger_audit.demo.scenario import parse_month  # noqa: PLC0415 - keep --help fast

    try:
        return parse_month(text).label
    except LedgerAuditError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run_demo(args: argparse.Namespace) -> int:
    from ledger_audit.demo.build import build_demo  # noqa: PLC0415 - keep --help fast
    from ledger_audit.demo.summary import render_text  # noqa: PLC0415

    started = time.perf_counter()
    summary = build_demo(
        args.out,
        transactions=args.transactions,
        seed=args.seed,
        clean=args.clean,
        month=args.month,
    )
    print(render_text(summary), end="")
    print(f"\nBuilt in {time.perf_counter() - started:.1f} s.")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands carry their handler as ``handler``)."""
    parser = _Parser(prog=PROG, description="Audit double-entry Ledger-as-a-Service ledgers.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="write a demo wallet ledger with planted anomalies and their answer key",
        description=(
            "Write DIR/ledger.sqlite (a one-month USD/EUR wallet ledger written through the "
            "reference writer), DIR/answer_key.json and DIR/demo.json. An existing demo in "
            "DIR is replaced."
        ),
    )
    demo.add_argument(
        "--out",
        metavar="DIR",
        type=Path,
        default=Path("data/demo"),
        help="output directory (default: data/demo)",
    )
    demo.add_argument(
        "--transactions",
        metavar="N",
        type=_positive_int,
        default=10_000,
        help="top-level transactions posted in the month (default: 10000, at least 100)",
    )
    demo.add_argument("--seed", metavar="S", type=_int, default=7, help="random seed (default: 7)")
    demo.add_argument(
        "--clean", action="store_true", help="plant no anomalies (the answer key is [])"
    )
    demo.add_argument(
        "--month",
        metavar="YYYY-MM",
        type=_month,
        default="2025-01",
        help="the simulated month, UTC (default: 2025-01)",
    )
    demo.set_defaults(handler=_run_demo)
    return parser


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename is not None else ""
        text = f"{exc.strerror}{where}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 error)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (LedgerAuditError, OSError) as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
