"""``verify --chain-only``: the LACH-1 chain alone, streamed from the source when it can be.

Why a flag of ``verify`` rather than a command of its own: it is ``verify``'s chain check,
with ``verify``'s source argument, ``--checkpoint``, ``--mapping``/``--adapter`` and outputs
(findings, summary, checkpoints.json); only how the rows are read changes. A canonical source
(SQLite, PostgreSQL, a Parquet or CSV folder) is read a batch at a time in chain order
(``sources.chain_batches``) and verified by ``checks.chain_stream``, which holds one batch:
at 10M versions that is about 1.3 GiB against the frames' 7.3 GiB. At the stream's first
doubt (a broken link, a row the loader would reject, ...) the frames are loaded and
``verify_chain`` classifies, so the report is always the frame verifier's. A mapped layout or
an adapter is read into frames (their readers build whole tables): said, not streamed.

Kept apart from ``cli.py`` so that its edits stay a few lines; nothing heavy is imported
until the handler runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

    from ledger_audit.checks.runner import AuditResult
    from ledger_audit.findings import CheckResult, RuleId
    from ledger_audit.schema.lach1 import Checkpoint

DEFAULT_BATCH_ROWS = 65_536
"""Versions (and entries) per streamed batch: the loader's own database batch size."""


def add_chain_options(parser: argparse.ArgumentParser) -> None:
    """``--chain-only`` and ``--batch-rows`` on ``verify``."""
    from ledger_audit import cli  # noqa: PLC0415 - loaded already; shares its option helpers

    parser.add_argument(
        "--chain-only",
        action="store_true",
        help=(
            "verify the LACH-1 chain only, streamed from a canonical source a batch at a "
            "time (the frames are loaded only when the stream finds something to classify); "
            "prints whether it streamed and why not"
        ),
    )
    parser.add_argument(
        "--batch-rows",
        metavar="N",
        type=cli._positive_int,  # noqa: SLF001 - the CLI's own option parser
        default=DEFAULT_BATCH_ROWS,
        help=f"with --chain-only: versions per streamed batch ({DEFAULT_BATCH_ROWS})",
    )


@dataclass(frozen=True, slots=True, eq=False)
class ChainRun:
    """One ``verify --chain-only`` run.

    Attributes:
        result: the chain check's result (and the load's, when the frames were loaded).
        source: the source as reports name it.
        streamed: True when the stream proved every chain on its own.
        reason: why the frames were loaded instead (None when they were not).
        batches: version batches the stream read.
        versions: transaction versions of chained ledgers checked.
    """

    result: AuditResult
    source: str
    streamed: bool
    reason: str | None
    batches: int
    versions: int


def verify_chain_only(
    source: str | Path,
    *,
    checkpoints: tuple[Checkpoint, ...] = (),
    mapping: str | Path | None = None,
    adapter: str | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> ChainRun:
    """Verify the chain of ``source``: streamed when canonical, else over loaded frames."""
    if mapping is not None or adapter is not None:
        return _from_frames(source, checkpoints, mapping, adapter)
    from ledger_audit.checks.chain import report_result  # noqa: PLC0415 - keep --help fast
    from ledger_audit.checks.chain_stream import verify_chain_streamed  # noqa: PLC0415
    from ledger_audit.checks.loading import check_load_report  # noqa: PLC0415
    from ledger_audit.sources.chain_batches import open_chain_batches  # noqa: PLC0415
    from ledger_audit.sources.ledger_frames import LoadReport  # noqa: PLC0415
    from ledger_audit.sources.load import load_ledger  # noqa: PLC0415

    loaded: list[LoadReport] = []
    with open_chain_batches(source, batch_rows=batch_rows) as batches:

        def load() -> tuple[pl.DataFrame, pl.DataFrame]:
            batches.close()  # the stream's cursors and buffers go before the frames come
            frames, report = load_ledger(source)
            loaded.append(report)
            return frames.transactions, frames.entries

        run = verify_chain_streamed(
            batches.versions, batches.entries, batches.ledgers, load, checkpoints
        )
        label = batches.label
    results = [report_result(run.report, run.unproven_rules)]
    if loaded:
        results.insert(0, check_load_report(loaded[0]))
    return ChainRun(
        _audit_result(tuple(results)),
        label,
        streamed=run.streamed,
        reason=run.reason,
        batches=run.batches,
        versions=run.report.rows_checked,
    )


def _from_frames(
    source: str | Path,
    checkpoints: tuple[Checkpoint, ...],
    mapping: str | Path | None,
    adapter: str | None,
) -> ChainRun:
    """A mapped layout or an adapter: its reader builds whole frames, so they are verified."""
    from ledger_audit.checks.chain import chain_result, verify_chain  # noqa: PLC0415
    from ledger_audit.checks.loading import check_load_report  # noqa: PLC0415
    from ledger_audit.sources.reading import read_ledger  # noqa: PLC0415

    read = read_ledger(source, mapping=mapping, adapter=adapter, checkpoints=checkpoints)
    frames = read.frames
    report = verify_chain(
        frames.transactions, frames.entries, frames.ledgers, read.chain_checkpoints(checkpoints)
    )
    results = (
        check_load_report(read.report),
        chain_result(frames, report),
        *(n.result for n in read.native),
    )
    how = "the mapping" if mapping is not None else f"the {adapter} adapter"
    return ChainRun(
        _audit_result(results, tuple((n.result.check, n.rules) for n in read.native)),
        read.report.source,
        streamed=False,
        reason=f"{how} reads the source into whole frames, so they were verified",
        batches=0,
        versions=report.rows_checked,
    )


def _audit_result(
    results: tuple[CheckResult, ...], native: tuple[tuple[str, tuple[RuleId, ...]], ...] = ()
) -> AuditResult:
    """The results as ``verify`` reports them: the chain's rules (and the load's, if run)."""
    from ledger_audit.checks.catalogue import CATALOGUE  # noqa: PLC0415
    from ledger_audit.checks.runner import AuditResult, merge_findings  # noqa: PLC0415
    from ledger_audit.findings import RuleId  # noqa: PLC0415

    chain = next(check for check in CATALOGUE if check.name == "chain")
    rules = [(chain.name, chain.rules), *native]
    if results[0].check == "load":
        rules.insert(0, ("load", (RuleId.SOURCE_REJECTED_ROW,)))
    return AuditResult(results, merge_findings([r.findings for r in results]), tuple(rules))


def run_chain_only(args: argparse.Namespace) -> int:
    """``verify SOURCE --chain-only --out DIR``: prints the summary and how it was read."""
    from ledger_audit import cli  # noqa: PLC0415 - loaded already
    from ledger_audit.errors import InputError  # noqa: PLC0415

    if args.engine == "spark":
        raise InputError("--chain-only", "streams on this machine: drop --engine spark")
    started = time.perf_counter()
    checkpoints = cli._read_checkpoints(args.checkpoint)  # noqa: SLF001 - the CLI's own reader
    run = verify_chain_only(
        args.source,
        checkpoints=checkpoints,
        mapping=args.mapping,
        adapter=args.adapter,
        batch_rows=args.batch_rows,
    )
    result = run.result
    paths = cli.write_and_show(result, args.out)
    if run.streamed:
        how = f"streamed in {run.batches:,} batch(es) of up to {args.batch_rows:,} versions"
    else:
        how = f"not streamed, the frames were loaded: {run.reason}"
    sys.stdout.write(
        f"\nChain only, {how}.\n{result.findings.height} finding(s), {result.critical} "
        f"critical, over {run.versions:,} chained transaction versions from {run.source} in "
        f"{time.perf_counter() - started:.1f} s.\n"
        "Wrote " + ", ".join(str(p) for p in paths) + ".\n"
    )
    return cli.EXIT_CRITICAL if result.critical else cli.EXIT_OK
