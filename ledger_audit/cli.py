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
from typing import TYPE_CHECKING, NoReturn

from ledger_audit import __version__
from ledger_audit.errors import LedgerAuditError

if TYPE_CHECKING:
    import polars as pl

    from ledger_audit.schema.lach1 import Checkpoint

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


EXIT_CRITICAL = 1


def _run_verify(args: argparse.Namespace) -> int:
    from ledger_audit.checks.runner import audit  # noqa: PLC0415 - keep --help fast
    from ledger_audit.exports.checkpoints import write_checkpoints  # noqa: PLC0415
    from ledger_audit.exports.findings import write_findings, write_frame  # noqa: PLC0415
    from ledger_audit.sources import load_ledger  # noqa: PLC0415
    from ledger_audit.spec import VerifySpec  # noqa: PLC0415

    started = time.perf_counter()
    frames, report = load_ledger(args.source)
    spec = VerifySpec(
        source=str(args.source),
        checkpoints=_read_checkpoints(args.checkpoint),
        duplicate_window_ns=round(args.duplicate_window_hours * 3_600 * 10**9),
        suites=args.suites,
    )
    result = audit(frames, report, spec)
    summary = result.summary()
    paths = [
        *write_findings(result.findings, args.out),
        *write_frame(summary, args.out, "summary"),
        write_checkpoints(args.out / "checkpoints.json", result.checkpoints),
    ]
    print(render_summary(summary), end="")
    print(
        f"\n{result.findings.height} finding(s), {result.critical} critical, over "
        f"{frames.transactions.height:,} transaction versions and {frames.entries.height:,} "
        f"entries from {report.source} in {time.perf_counter() - started:.1f} s."
    )
    print("Wrote " + ", ".join(str(p) for p in paths) + ".")
    return EXIT_CRITICAL if result.critical else EXIT_OK


def _read_checkpoints(paths: list[Path]) -> tuple[Checkpoint, ...]:
    if not paths:
        return ()
    from ledger_audit.sources.checkpoints import read_checkpoints  # noqa: PLC0415

    return tuple(checkpoint for path in paths for checkpoint in read_checkpoints(path))


def render_summary(summary: pl.DataFrame) -> str:
    """The summary table as aligned text: rule, severity, count, status, coverage."""
    columns = ("rule", "severity", "count", "status", "coverage")
    rows = [tuple(str(v) for v in row) for row in summary.select(columns).iter_rows()]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = [columns, tuple("-" * w for w in widths), *rows]
    return "".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


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
    verify = commands.add_parser(
        "verify",
        help="run every integrity check over a ledger and write its findings",
        description=(
            "Verify the hash chain, the double-entry invariants, the stored balances, the "
            "closed period and duplicate payments of SOURCE (a SQLite file or URL, a "
            "PostgreSQL URL, or a folder of Parquet or CSV files). Prints a summary table, "
            "writes DIR/findings.parquet, DIR/findings.csv and DIR/summary.{parquet,csv}. "
            "Exit code 1 when any critical finding exists, 0 otherwise, 2 on an error."
        ),
    )
    verify.add_argument("source", metavar="SOURCE", help="the ledger to verify")
    verify.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a checkpoints.json of an earlier audit that the chain must extend (repeatable)",
    )
    verify.add_argument(
        "--suites",
        choices=("frame", "sql", "off"),
        default="frame",
        help="run the invariant suites on the loaded frames (default), in the database, or not",
    )
    verify.add_argument(
        "--duplicate-window-hours",
        metavar="H",
        type=float,
        default=24.0,
        help="payments with the same legs closer than this are suspected duplicates (24)",
    )
    verify.set_defaults(handler=_run_verify)
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
