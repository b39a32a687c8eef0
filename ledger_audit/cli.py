"""The ``ledger-audit`` command.

Outside the data flow: it may call any stage. Operational errors (``LedgerAuditError``, and
``OSError`` for files) print as one line on stderr with exit code 2, never a traceback;
usage errors do the same. Anything else is a bug: one line too, exit code 4
(``LEDGER_AUDIT_DEBUG=1`` shows its traceback).

Start-up stays fast (``benchmarks/bench_startup.py``): this module imports nothing heavy at
its top, and each subcommand is one ``_run_<command>`` function that first checks what is
cheap to check (an input file that is not there) and only then imports the stages it runs.
So ``--help``, a usage error or a missing file answer in a fraction of a second, without
polars, SQLAlchemy or the notebook machinery (``tests/test_cli_startup.py`` holds this).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ledger_audit import __version__
from ledger_audit.cli_analytics import add_benford_parser, add_sample_parser
from ledger_audit.cli_chain import add_chain_options, run_chain_only
from ledger_audit.cli_flux import add_flux_parser
from ledger_audit.errors import InputError, LedgerAuditError

if TYPE_CHECKING:
    import polars as pl

    from ledger_audit.checks.runner import AuditResult
    from ledger_audit.schema.lach1 import Checkpoint
    from ledger_audit.sources.reading import LedgerRead
    from ledger_audit.spark.session import SparkSettings
    from ledger_audit.spec import VerifySpec

PROG = "ledger-audit"
EXIT_OK = 0
EXIT_ERROR = 2
EXIT_BUG = 4
EXIT_INTERRUPTED = 130
DEBUG_ENV = "LEDGER_AUDIT_DEBUG"
"""Set to 1 to let an unexpected exception through with its traceback."""


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


def _require_ledger(source: str) -> None:
    """A local ledger that is not there fails here, before the readers are imported.

    URLs and existing paths are left to the reader, which says what is wrong with them.
    """
    if "://" not in source and not Path(source).exists():
        raise InputError(source, "no such ledger file or folder")


def _require_adapter(name: str | None) -> None:
    """An unknown adapter name fails first, listing the known ones (no adapter is imported)."""
    if name is not None:
        from ledger_audit.sources.adapters.registry import adapter_named  # noqa: PLC0415

        adapter_named(name)


def _require_file(path: Path | None, what: str) -> None:
    """An input file that is not there fails here, before its reader is imported."""
    if path is not None and not path.exists():
        raise InputError(str(path), f"no such {what} file")


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
        writer=args.writer,
    )
    print(render_text(summary), end="")
    print(f"\nBuilt in {time.perf_counter() - started:.1f} s.")
    return EXIT_OK


INIT_FILES = ("mapping.toml", "rules.toml", "gl-mapping.toml")
"""What ``init`` writes (``exports.setup_files`` names them; checked here before any import)."""


def _run_init(args: argparse.Namespace) -> int:
    _require_adapter(args.adapter)
    _require_ledger(args.source)
    if args.adapter is not None:
        return _run_init_adapter(args)
    for name in () if args.force else INIT_FILES:
        if (args.out / name).exists():
            raise InputError(str(args.out / name), "already exists: pass --force to replace it")

    from ledger_audit.exports import setup_files  # noqa: PLC0415 - keep --help fast
    from ledger_audit.sources.mapping.inspect import inspect_source  # noqa: PLC0415

    proposal = inspect_source(args.source)
    files = setup_files.write_setup_files(proposal, args.out, force=args.force)
    print(setup_files.render_decisions(proposal), end="")
    left = len(proposal.undecided)
    print(
        f"Wrote {files.mapping}, {files.rules} and {files.gl_mapping}.\n"
        + (
            f'Fill in the {left} "FILL-IN" value(s) of {files.mapping} (each line says why); '
            "verify refuses it until then."
            if left
            else f"Next: {PROG} verify {args.source} --mapping {files.mapping} --out DIR"
        )
    )
    return EXIT_OK


def _run_init_adapter(args: argparse.Namespace) -> int:
    """``init --adapter``: the adapter is the mapping; write the starter rules and GL mapping."""
    for name in () if args.force else INIT_FILES[1:]:
        if (args.out / name).exists():
            raise InputError(str(args.out / name), "already exists: pass --force to replace it")

    from ledger_audit.exports.setup_files import write_starter_files  # noqa: PLC0415
    from ledger_audit.sources.adapters import load_adapted  # noqa: PLC0415
    from ledger_audit.sources.adapters.starter import propose  # noqa: PLC0415

    adapted = load_adapted(args.source, args.adapter)
    proposal = propose(adapted)
    files = write_starter_files(proposal, args.out, force=args.force)
    print(
        f"Read {adapted.frames.accounts.height:,} account(s) of {adapted.report.source} through "
        f"--adapter {args.adapter}; {len(proposal.bank_accounts)} look like bank accounts.\n"
        f"Wrote {files.rules} and {files.gl_mapping} (no mapping.toml: the adapter reads the "
        f'vendor\'s layout). Fill in the "FILL-IN" bank account numbers of {files.rules}.\n'
        f"Next: {PROG} verify {args.source} --adapter {args.adapter} --out DIR"
    )
    return EXIT_OK


EXIT_CRITICAL = 1


def _run_verify(args: argparse.Namespace) -> int:
    _require_adapter(args.adapter)
    _require_ledger(args.source)
    _require_file(args.mapping, "source mapping")
    if (args.mapping is not None or args.adapter is not None) and args.suites == "sql":
        from ledger_audit.sources.hints import MAPPED_SQL_SUITES  # noqa: PLC0415

        raise InputError("--suites", MAPPED_SQL_SUITES)
    if args.engine == "spark":
        _refuse_sql_suites(args.suites)
    for checkpoint in args.checkpoint:
        _require_file(checkpoint, "checkpoints")
    if args.chain_only:
        return run_chain_only(args)

    from ledger_audit.checks.runner import audit  # noqa: PLC0415 - keep --help fast
    from ledger_audit.sources.reading import read_ledger  # noqa: PLC0415
    from ledger_audit.spec import VerifySpec  # noqa: PLC0415

    started = time.perf_counter()
    checkpoints = _read_checkpoints(args.checkpoint)
    read = read_ledger(
        args.source, mapping=args.mapping, adapter=args.adapter, checkpoints=checkpoints
    )
    frames, report = read.frames, read.report
    spec = VerifySpec(
        source=str(args.source),
        checkpoints=read.chain_checkpoints(checkpoints),
        duplicate_window_ns=round(args.duplicate_window_hours * 3_600 * 10**9),
        suites=args.suites,
        engine=args.engine,
        spark_master=args.spark_master,
    )
    if spec.engine == "spark":
        result = _audit_on_spark(args, read, spec)
    else:
        result = audit(frames, report, spec, native=read.native)
    paths = write_and_show(result, args.out)
    print(
        f"\n{result.findings.height} finding(s), {result.critical} critical, over "
        f"{frames.transactions.height:,} transaction versions and {frames.entries.height:,} "
        f"entries from {report.source} in {time.perf_counter() - started:.1f} s."
    )
    print("Wrote " + ", ".join(str(p) for p in paths) + ".")
    return EXIT_CRITICAL if result.critical else EXIT_OK


def write_and_show(result: AuditResult, out: Path) -> list[Path]:
    """Write an audit's findings, summary and checkpoints to ``out``; print the summary.

    The summary is followed by what the audit could not prove (``verify`` and
    ``verify --chain-only`` both).
    """
    from ledger_audit.exports.checkpoints import write_checkpoints  # noqa: PLC0415
    from ledger_audit.exports.findings import write_findings, write_frame  # noqa: PLC0415

    summary = result.summary()
    paths = [
        *write_findings(result.findings, out),
        *write_frame(summary, out, "summary"),
        write_checkpoints(out / "checkpoints.json", result.checkpoints),
    ]
    print(render_summary(summary), end="")
    unproven = [line for r in result.results for line in r.coverage.unproven]
    if unproven:
        print("\nNot proven:")
        print("".join(f"- {line}\n" for line in unproven), end="")
    return paths


def _audit_on_spark(args: argparse.Namespace, read: LedgerRead, spec: VerifySpec) -> AuditResult:
    """``verify --engine spark``: the chain and the invariants on Spark, the rest on frames."""
    from ledger_audit.checks.runner import audit  # noqa: PLC0415 - keep --help fast
    from ledger_audit.spark.run import (  # noqa: PLC0415 - pyspark
        settings_for,
        spark_catalogue,
        spark_run,
    )

    settings = settings_for(_spark_settings(args), args.source)  # the JDBC jar for PostgreSQL
    as_loaded = args.mapping is None and args.adapter is None and read.report.rejections.is_empty()
    with spark_run(settings, args.source, read.frames, as_loaded=as_loaded):
        return audit(read.frames, read.report, spec, spark_catalogue(), native=read.native)


def _spark_settings(args: argparse.Namespace) -> SparkSettings:
    """The session the ``--spark-*`` options ask for."""
    from ledger_audit.spark.session import SparkSettings  # noqa: PLC0415 - pyspark

    return SparkSettings(
        master=args.spark_master,
        driver_memory=args.spark_driver_memory,
        codegen=args.spark_codegen == "on",
    )


def _run_jet(args: argparse.Namespace) -> int:
    _require_adapter(args.adapter)
    _require_ledger(args.source)
    _require_file(args.mapping, "source mapping")
    _require_file(args.rules, "JET rules")

    import json  # noqa: PLC0415

    from ledger_audit.analytics.jet.engine import run_jet  # noqa: PLC0415 - keep --help fast
    from ledger_audit.analytics.jet.params import JetParams, params_from_toml  # noqa: PLC0415
    from ledger_audit.analytics.jet.summary import jet_manifest, render_jet  # noqa: PLC0415
    from ledger_audit.exports.atomic import write_text_atomic  # noqa: PLC0415
    from ledger_audit.exports.findings import write_findings, write_frame  # noqa: PLC0415
    from ledger_audit.sources.reading import read_ledger  # noqa: PLC0415
    from ledger_audit.sources.toml_file import parse_toml, read_text  # noqa: PLC0415
    from ledger_audit.spec import Period  # noqa: PLC0415

    params = JetParams()
    if args.rules is not None:
        text = read_text(args.rules, "JET rules")
        params = params_from_toml(parse_toml(text, str(args.rules)), str(args.rules))
    read = read_ledger(args.source, mapping=args.mapping, adapter=args.adapter, vendor_checks=False)
    result = run_jet(read.frames, Period.month(args.period), params)
    manifest = json.dumps(jet_manifest(result, str(args.source)), indent=2, sort_keys=True)
    paths = [
        *write_findings(result.findings, args.out),
        *write_frame(result.scores, args.out, "jet_scores"),
        *write_frame(result.coverage, args.out, "jet_coverage"),
        write_text_atomic(args.out / "jet_run.json", manifest + "\n"),
    ]
    print(render_jet(result), end="")
    print("Wrote " + ", ".join(str(p) for p in paths) + ".")
    return EXIT_OK


def _read_checkpoints(paths: list[Path]) -> tuple[Checkpoint, ...]:
    if not paths:
        return ()
    from ledger_audit.sources.checkpoints import read_checkpoints  # noqa: PLC0415

    return tuple(checkpoint for path in paths for checkpoint in read_checkpoints(path))


def render_summary(summary: pl.DataFrame) -> str:
    """The summary table as aligned text: rule, severity, count, status, coverage."""
    columns = ("rule", "severity", "count", "status", "coverage")
    rows = [tuple(str(v) for v in row) for row in summary.select(columns).iter_rows()]
    return _aligned(columns, rows, right=set())


DEFAULT_RULES = Path("rules") / "default.toml"
"""The rules file ``reconcile`` uses without ``--rules``, relative to the project root."""


def default_rules_path() -> Path:
    """``rules/default.toml`` beside the package, else in the working directory.

    Raises InputError when neither exists.
    """
    from ledger_audit.errors import InputError  # noqa: PLC0415 - keep --help fast

    candidates = (
        Path(__file__).resolve().parent.parent / DEFAULT_RULES,
        Path.cwd() / DEFAULT_RULES,
    )
    for path in candidates:
        if path.is_file():
            return path
    raise InputError(str(DEFAULT_RULES), "no default rules file found: pass --rules FILE")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _run_reconcile(args: argparse.Namespace) -> int:
    _require_adapter(args.adapter)
    _require_ledger(args.ledger)
    _require_file(args.mapping, "source mapping")
    for statement in args.statements:
        _require_file(statement, "statement")
    _require_file(args.rules, "rules")

    import polars as pl  # noqa: PLC0415 - keep --help fast

    from ledger_audit.exports.findings import write_findings, write_frame  # noqa: PLC0415
    from ledger_audit.findings import sort_findings  # noqa: PLC0415
    from ledger_audit.reconcile.internal import internal_items  # noqa: PLC0415
    from ledger_audit.reconcile.match import reconcile  # noqa: PLC0415
    from ledger_audit.reconcile.normalise import Window  # noqa: PLC0415
    from ledger_audit.sources.bank.load import load_statements  # noqa: PLC0415
    from ledger_audit.sources.match_rules import read_match_rules  # noqa: PLC0415

    started = time.perf_counter()
    rules = read_match_rules(args.rules or default_rules_path())
    statements = load_statements(args.statements, encoding=args.statement_encoding)
    from ledger_audit.sources.reading import read_ledger  # noqa: PLC0415

    read = read_ledger(args.ledger, mapping=args.mapping, adapter=args.adapter, vendor_checks=False)
    frames, report = read.frames, read.report
    items = internal_items(frames, rules)
    window = None
    if args.period is not None:
        from ledger_audit.spec import Period  # noqa: PLC0415

        month = Period.month(args.period)
        window = Window(month.first_day, month.last_day, rules.lookback_days)
    as_of = args.as_of or (
        window.last_day
        if window is not None
        else _last_statement_day(statements.records, statements.balances)
    )
    on_spark = ""
    if args.engine == "spark":
        from ledger_audit.spark.reconcile import SparkStages  # noqa: PLC0415 - pyspark
        from ledger_audit.spark.session import spark_session  # noqa: PLC0415

        with spark_session(_spark_settings(args)) as spark:
            stages = SparkStages(spark)
            result = reconcile(
                items, statements.records, rules, as_of=as_of, window=window, run=stages
            )
        on_spark = f" Spark ran the {', '.join(stages.ran) or 'no'} stage(s); the rest ran here."
    else:
        result = reconcile(items, statements.records, rules, as_of=as_of, window=window)
    findings = sort_findings(pl.concat([statements.findings, result.findings]))
    paths = [
        *write_frame(result.matches, args.out, "matches"),
        *write_frame(result.links, args.out, "links"),
        *write_frame(result.breaks, args.out, "breaks"),
        *write_frame(result.aging, args.out, "aging"),
        *write_frame(result.rates, args.out, "rates"),
        *write_frame(result.payouts, args.out, "payouts"),
        *write_findings(findings, args.out),
    ]
    print(render_rates(result.rates), end="")
    print()
    print(render_breaks(result.breaks), end="")
    print(
        f"\n{items.height:,} ledger item(s) from {report.source} and "
        f"{statements.records.height:,} bank record(s) from {len(args.statements)} file(s), "
        f"rules {rules.version}, as of {as_of.isoformat()}: {result.matches.height:,} match(es), "
        f"{result.breaks.height:,} break(s), {statements.findings.height:,} statement finding(s) "
        f"in {time.perf_counter() - started:.1f} s.{on_spark}"
    )
    print("Wrote " + ", ".join(str(p) for p in paths) + ".")
    return EXIT_OK


EXIT_CLOSE_FAILED = 3


def _run_close(args: argparse.Namespace) -> int:
    _require_adapter(args.adapter)
    _require_ledger(args.ledger)
    for statement in args.statements:
        _require_file(statement, "statement")
    _require_file(args.rules, "rules")
    _require_file(args.mapping, "source mapping")
    _require_file(args.gl_mapping, "GL mapping")
    _require_file(args.checkpoint, "checkpoints")
    _require_file(args.jet_rules, "JET rules")
    _require_file(args.flux_explanations, "flux explanations")
    _require_file(args.notebook, "notebook")
    if args.engine == "spark":
        _require_spark(args.suites)

    from ledger_audit.close.execute import execute_close  # noqa: PLC0415 - keep --help fast
    from ledger_audit.close.run import CloseParameters  # noqa: PLC0415

    parameters = CloseParameters(
        source=str(args.ledger),
        period=args.period,
        statements=tuple(str(p) for p in args.statements),
        source_mapping=None if args.mapping is None else str(args.mapping),
        adapter=args.adapter,
        statement_encoding=args.statement_encoding,
        gl_mapping=None if args.gl_mapping is None else str(args.gl_mapping),
        rules=None if args.rules is None else str(args.rules),
        checkpoints=None if args.checkpoint is None else str(args.checkpoint),
        suites=args.suites,
        jet_rules=None if args.jet_rules is None else str(args.jet_rules),
        flux_explanations=None if args.flux_explanations is None else str(args.flux_explanations),
        engine=args.engine,
        spark_master=args.spark_master,
        spark_driver_memory=args.spark_driver_memory,
        spark_codegen=args.spark_codegen == "on",
    )

    def starting() -> None:
        print(
            f"Closing {parameters.period} of {parameters.source} (headless notebook) ...",
            flush=True,
        )

    started = time.perf_counter()
    # execute_close checks every input (close.preflight) before the kernel starts
    run = execute_close(
        parameters,
        args.out,
        notebook=args.notebook,
        progress=sys.stderr.isatty(),
        on_start=starting,
    )
    seconds = time.perf_counter() - started
    if run.failed:
        print(
            f"{PROG}: error: the close of {run.period} failed: {_one_line_text(run.error or '')} "
            f"(the executed notebook, the failing cell marked: {run.notebook}; an earlier "
            f"bundle in {run.folder}, if any, was left as it was)",
            file=sys.stderr,
        )
        return EXIT_ERROR if run.bad_input else EXIT_CLOSE_FAILED
    print(
        f"Closed {run.period} in {seconds:.1f} s: {run.findings:,} finding(s), "
        f"{run.critical:,} critical.\n"
        f"Report: {run.folder / 'report.html'}\n"
        f"Workpaper: {run.folder / 'workpaper.xlsx'}\n"
        f"Evidence bundle (manifest.json, tables/, erp/, the executed notebook): {run.folder}"
    )
    return EXIT_CRITICAL if run.critical else EXIT_OK


def _refuse_sql_suites(suites: str) -> None:
    """``--engine spark`` runs the invariants on Spark: ``--suites sql`` contradicts it."""
    if suites == "sql":
        raise InputError("--engine spark", "the invariants run on Spark: drop --suites sql")


def _require_spark(suites: str) -> None:
    """``close --engine spark``: refused with ``--suites sql``, or without pyspark and Java.

    Checked before the notebook's kernel starts, so the close fails in a second, not after
    the ledger has loaded.
    """
    _refuse_sql_suites(suites)
    from ledger_audit.spark.session import missing_runtime  # noqa: PLC0415 - imports pyspark

    missing = missing_runtime()
    if missing is not None:
        raise InputError("--engine spark", missing)


def _last_statement_day(records: pl.DataFrame, balances: pl.DataFrame) -> dt.date:
    """The latest booking or balance date the statements state (today when they state none)."""
    days = [d for d in (records["booking_date"].max(), balances["date"].max()) if d is not None]
    latest = max(days, default=None)
    return latest if isinstance(latest, dt.date) else dt.datetime.now(tz=dt.UTC).date()


def _aligned(columns: tuple[str, ...], rows: Sequence[tuple[str, ...]], right: set[int]) -> str:
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = [columns, tuple("-" * w for w in widths), *rows]
    return "".join(
        "  ".join(
            cell.rjust(w) if i in right and line is not columns else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        + "\n"
        for line in lines
    )


def render_rates(rates: pl.DataFrame) -> str:
    """Match rates per stage as aligned text, stages in their running order."""
    columns = ("stage", "name", "status", "matches", "ledger items", "bank records")
    rows = [
        (
            str(r["stage"]),
            str(r["stage_name"]),
            str(r["status"]),
            str(r["matches"]),
            f"{r['internal_items']} ({r['internal_share']:.1%})",
            f"{r['external_records']} ({r['external_share']:.1%})",
        )
        for r in rates.iter_rows(named=True)
    ]
    return "Match rates per stage\n" + _aligned(columns, rows, {3, 4, 5})


def render_breaks(breaks: pl.DataFrame) -> str:
    """Breaks by class (rule, side, count and net amount per asset) as aligned text."""
    import polars as pl  # noqa: PLC0415 - keep --help fast

    from ledger_audit.money import format_amount  # noqa: PLC0415

    if breaks.is_empty():
        return "Breaks by class: none\n"
    summary = (
        breaks.group_by("class", "rule", "side", "asset_id")
        .agg(  # an exact sum: Int64 wraps past 2^63 - 1
            pl.len().alias("count"), pl.col("amount").cast(pl.Decimal(38, 0)).sum().alias("amount")
        )
        .sort("class", "side", "asset_id")
    )
    columns = ("class", "rule", "side", "count", "net amount")
    rows = [
        (
            str(r["class"]),
            str(r["rule"]),
            str(r["side"]),
            str(r["count"]),
            format_amount(int(r["amount"]), str(r["asset_id"])),
        )
        for r in summary.iter_rows(named=True)
    ]
    return "Breaks by class\n" + _aligned(columns, rows, {3, 4})


def _source_mapping_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mapping",
        metavar="FILE",
        type=Path,
        default=None,
        help=(
            "a source mapping (mapping.toml, docs/mapping.md) that reads your own tables as "
            "the ledger; write a starter with 'init'. None: the source has the canonical tables"
        ),
    )


def _adapter_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--adapter",
        metavar="NAME",
        default=None,
        help=(
            "read the source as a vendor's own layout (formance, blnk, midaz, pgledger, "
            "tigerbeetle, modern-treasury, beancount, hledger; docs/adapters.md), read-only, "
            "with the vendor's own hash chain or running balances checked too"
        ),
    )


def _encoding_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--statement-encoding",
        metavar="NAME",
        default=None,
        help=(
            "the code page of the BAI2/MT940 files (cp1250, cp852, latin-1...); default: "
            "UTF-8 when valid, else detected, and the parse says which"
        ),
    )


def _close_audit_options(parser: argparse.ArgumentParser) -> None:
    """``--jet-rules`` (the close's JET section), ``--flux-explanations`` and ``--suites``."""
    parser.add_argument(
        "--jet-rules",
        metavar="FILE",
        type=Path,
        default=None,
        help="JET parameters for the close's JET section (rules/jet.toml); default: built-in",
    )
    parser.add_argument(
        "--flux-explanations",
        metavar="FILE",
        type=Path,
        default=None,
        help=(
            "the reviewer's flux explanations: a CSV (gl_account, asset, explanation, "
            "explained_by) or the filled workpaper of an earlier run (docs/flux.md)"
        ),
    )
    _suites_option(parser)


def _suites_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--suites",
        choices=("frame", "sql", "off"),
        default="frame",
        help="run the invariant suites on the loaded frames (default), in the database, or not",
    )


def _engine_options(parser: argparse.ArgumentParser) -> None:
    """``--suites``, ``--engine`` and the ``--spark-*`` options (docs/scale.md, "Spark")."""
    _suites_option(parser)
    _spark_options(parser, "the chain and the invariants")


def _spark_options(parser: argparse.ArgumentParser, what: str) -> None:
    """``--engine`` (``what`` runs on frames or Spark) and the ``--spark-*`` options."""
    parser.add_argument(
        "--engine",
        choices=("frames", "spark"),
        default="frames",
        help=f"run {what} on the loaded frames (default) or on Apache Spark",
    )
    parser.add_argument(
        "--spark-master",
        metavar="URL",
        default="local[*]",
        help="with --engine spark: local[N], spark://host:7077, yarn or k8s://... (local[*])",
    )
    parser.add_argument(
        "--spark-driver-memory",
        metavar="SIZE",
        default="1g",
        help="with --engine spark: the driver's JVM heap (1g; in local mode it runs everything)",
    )
    parser.add_argument(
        "--spark-codegen",
        choices=("on", "off"),
        default="on",
        help="with --engine spark: compile query stages to Java (on); off: faster on small ledgers",
    )


def _rules_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rules",
        metavar="FILE",
        type=Path,
        default=None,
        help="matching rules TOML (default: rules/default.toml of the project)",
    )


def _reconcile_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    recon = commands.add_parser(
        "reconcile",
        help="match a ledger's bank-account entries to bank statements; write matches and breaks",
        description=(
            "Reconcile the posted entries of SOURCE on the bank accounts the rules map against "
            "the bank and processor files (BAI2, camt.053, MT940, Stripe CSV, canonical "
            "CSV/Parquet). Prints the match rates per stage and the breaks by class; writes "
            "DIR/{matches,links,breaks,aging,rates,findings}.{parquet,csv}. Breaks are "
            "findings, not errors: exit code 0, or 2 on an error."
        ),
    )
    recon.add_argument("--ledger", metavar="SOURCE", required=True, help="the ledger")
    _source_mapping_option(recon)
    _adapter_option(recon)
    recon.add_argument(
        "--statements",
        metavar="FILE",
        type=Path,
        nargs="+",
        required=True,
        help="bank statement or processor files",
    )
    _rules_option(recon)
    _encoding_option(recon)
    _spark_options(recon, "the keyed matching stages (key, group, exact)")
    recon.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    recon.add_argument(
        "--period",
        metavar="YYYY-MM",
        type=_month,
        default=None,
        help=(
            "reconcile this month only (records and items outside it, beyond the rules' "
            "lookback, are counted, not matched); default: every date given"
        ),
    )
    recon.add_argument(
        "--as-of",
        metavar="DATE",
        type=_date,
        default=None,
        help="the day breaks are aged to (default: the statements' last date)",
    )
    recon.set_defaults(handler=_run_reconcile)


def _init_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    init = commands.add_parser(
        "init",
        help="inspect your own ledger and write a starter mapping, rules and GL mapping",
        description=(
            "Inspect SOURCE (a SQLite file or URL, a PostgreSQL URL, or a folder of Parquet or "
            "CSV files; read-only: its catalogue and the first 1,000 rows of each relation) "
            "and write DIR/mapping.toml (how to read it as the canonical ledger, "
            "docs/mapping.md), DIR/rules.toml (the bank-like accounts, their numbers to fill "
            "in) and DIR/gl-mapping.toml (account prefixes to GL accounts). Prints each "
            'decision and how sure it is; what it cannot decide is written as "FILL-IN" with '
            "the reason, and verify refuses the mapping until it is filled in. Exit code 0, "
            "or 2 on bad input."
        ),
    )
    init.add_argument("source", metavar="SOURCE", help="your ledger")
    init.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    _adapter_option(init)
    init.add_argument(
        "--force", action="store_true", help="replace the three files if they exist in DIR"
    )
    init.set_defaults(handler=_run_init)


def _jet_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    jet = commands.add_parser(
        "jet",
        help="journal-entry testing (JE-01..JE-22) over one period, with risk scores",
        description=(
            "Run the journal-entry tests of ANALYTICS.md 3.3 over the transactions of one "
            "month of SOURCE. States the population's completeness (roll-forward, hash "
            "chain) first, then writes DIR/findings.{parquet,csv}, DIR/jet_scores.*, "
            "DIR/jet_coverage.* and DIR/jet_run.json (parameters, weights, coverage)."
        ),
    )
    jet.add_argument("source", metavar="SOURCE", help="the ledger to test")
    _source_mapping_option(jet)
    _adapter_option(jet)
    jet.add_argument("--period", metavar="YYYY-MM", type=_month, required=True, help="the month")
    jet.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    jet.add_argument(
        "--rules",
        metavar="FILE",
        type=Path,
        default=None,
        help="JET parameters (rules/jet.toml documents every key); default: built-in defaults",
    )
    jet.set_defaults(handler=_run_jet)


def _signoff_parser(commands: argparse._SubParsersAction[_Parser]) -> None:
    signoff = commands.add_parser(
        "signoff",
        help="sign a close's evidence bundle as its preparer or reviewer",
        description=(
            "Record a sign-off of the close in BUNDLE (DIR/YYYY-MM) in BUNDLE/signoffs.json, "
            "bound to the digests of its tables and its chain checkpoint (manifest.json). A "
            "rerun of the close keeps it and shows it in the report and on the workpaper's "
            "cover: valid while the numbers are the same, stale (naming what changed) once "
            "they are not. Exit code 0, or 2 on bad input."
        ),
    )
    signoff.add_argument("bundle", metavar="BUNDLE", type=Path, help="the close's bundle folder")
    signoff.add_argument("--role", choices=("preparer", "reviewer"), required=True)
    signoff.add_argument("--name", metavar="NAME", required=True, help="who signs")
    signoff.add_argument(
        "--date", metavar="YYYY-MM-DD", type=_date, default=None, help="default: today (UTC)"
    )
    signoff.set_defaults(handler=_run_signoff)


def _run_signoff(args: argparse.Namespace) -> int:
    from ledger_audit.exports.signoffs import SIGNOFFS, sign_bundle  # noqa: PLC0415

    on = args.date or dt.datetime.now(dt.UTC).date()
    status = sign_bundle(args.bundle, role=args.role, name=args.name, on=on)
    print(f"{status.describe()}; recorded in {args.bundle / SIGNOFFS}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands carry their handler as ``handler``)."""
    parser = _Parser(
        prog=PROG,
        description="Audit double-entry Ledger-as-a-Service ledgers.",
        epilog=(
            "Exit codes: 0 done, 1 a critical finding, 2 bad input or usage (one line on "
            "stderr), 3 the close's notebook failed, 4 a bug (one line; "
            f"{DEBUG_ENV}=1 shows its traceback), 130 interrupted."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo",
        help="write a demo wallet ledger with planted anomalies and their answer key",
        description=(
            "Write DIR/ledger.sqlite (a one-month USD/EUR wallet ledger written through the "
            "reference writer, or the bulk writer that leaves the same bytes), "
            "DIR/answer_key.json, the bank's view of the month in "
            "DIR/statements/ (BAI2 for USD, camt.053 for EUR, a processor payout report, the "
            "truth of which line is which entry), DIR/recon_answer_key.json (the planted "
            "reconciliation breaks) and DIR/demo.json. An existing demo in DIR is replaced."
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
    demo.add_argument(
        "--writer",
        choices=("auto", "bulk", "reference"),
        default="auto",
        help=(
            "how the month is written: the single-request reference writer, the bulk writer "
            "(the same bytes, much faster), or auto: bulk from 50000 transactions on "
            "(default: auto)"
        ),
    )
    demo.set_defaults(handler=_run_demo)
    _init_parser(commands)
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
    _source_mapping_option(verify)
    _adapter_option(verify)
    verify.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    verify.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="a checkpoints.json of an earlier audit that the chain must extend (repeatable)",
    )
    _engine_options(verify)
    add_chain_options(verify)
    verify.add_argument(
        "--duplicate-window-hours",
        metavar="H",
        type=float,
        default=24.0,
        help="payments with the same legs closer than this are suspected duplicates (24)",
    )
    verify.set_defaults(handler=_run_verify)
    _jet_parser(commands)
    for add_analytics_parser in (add_sample_parser, add_benford_parser, add_flux_parser):
        add_analytics_parser(commands)
    _reconcile_parser(commands)
    close = commands.add_parser(
        "close",
        help="run the month-end close headless and write its evidence bundle",
        description=(
            "Run the close notebook (notebooks/00_month_end_close.ipynb) headless over one "
            "month: integrity checks, reconciliation and drift against the statements, trial "
            "balance and summary journals. Writes DIR/YYYY-MM/: report.html, workpaper.xlsx, "
            "tables/ (CSV and Parquet), erp/ (NetSuite, QuickBooks Online, Xero), "
            "checkpoints.json, the executed notebook and manifest.json. A rerun replaces the "
            "bundle; a failed run writes DIR/YYYY-MM.failed.ipynb with the failing cell "
            "marked and keeps an earlier bundle. Exit code 0, 1 when any finding is critical, "
            "2 on bad input (found before or while the notebook ran), 3 when the notebook "
            "failed otherwise."
        ),
    )
    close.add_argument(
        "--period", metavar="YYYY-MM", type=_month, required=True, help="the month to close"
    )
    close.add_argument("--ledger", metavar="SOURCE", required=True, help="the ledger")
    _source_mapping_option(close)
    _adapter_option(close)
    close.add_argument(
        "--statements",
        metavar="FILE",
        type=Path,
        nargs="*",
        default=[],
        help="bank statement or processor files (none: no reconciliation and no drift)",
    )
    close.add_argument(
        "--gl-mapping",
        metavar="FILE",
        type=Path,
        default=None,
        help="GL mapping TOML (none: no summary journals)",
    )
    _rules_option(close)
    _encoding_option(close)
    close.add_argument(
        "--checkpoint",
        metavar="FILE",
        type=Path,
        default=None,
        help="the previous close's checkpoints.json: the chain must extend it",
    )
    _close_audit_options(close)
    _spark_options(close, "the chain, the invariants, the keyed matching and the trial balance")
    close.add_argument(
        "--notebook",
        metavar="FILE",
        type=Path,
        default=None,
        help="a close notebook of your own (default: notebooks/00_month_end_close.ipynb)",
    )
    close.add_argument(
        "--out", metavar="DIR", type=Path, required=True, help="bundles go to DIR/YYYY-MM/"
    )
    close.set_defaults(handler=_run_close)
    _signoff_parser(commands)
    return parser


def _one_line_text(text: str) -> str:
    return " ".join(text.split())


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename is not None else ""
        text = f"{exc.strerror}{where}"
    else:
        text = str(exc) or type(exc).__name__
    return _one_line_text(text)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 1 critical, 2 error, 3, 4 a bug)."""
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
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            raise
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {_one_line(exc)} "
            f"(a bug: please report it; {DEBUG_ENV}=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_BUG


if __name__ == "__main__":
    raise SystemExit(main())
