"""The ``flux`` command: variances per GL account between two months, explanations merged.

Kept apart from ``cli.py`` so that its edit stays one line. Nothing heavy is imported at
module level; the handler checks the cheap things first (files that are not there) and
reads every small input (GL mapping, overrides, explanations) before the ledger, so a bad
file fails in a fraction of a second with one line naming the file and the key or row.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger_audit.errors import InputError

if TYPE_CHECKING:
    from ledger_audit.analytics.flux_explanations import ExplainedFlux
    from ledger_audit.sources.reading import LedgerRead

_MODES = ("and", "or", "amount_only", "percent_only")
RUN_FILE = "flux_run.json"


def _history(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value <= 120:  # noqa: PLR2004 - ten years of months is plenty
        raise argparse.ArgumentTypeError(f"expected 0 to 120 months, got {value}")
    return value


def _amount(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole major units such as 10000, got {text!r}"
        ) from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


def add_flux_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """``flux SOURCE --gl-mapping F --period M --out DIR`` and its options."""
    from ledger_audit import cli  # noqa: PLC0415 - loaded already; shares its option helpers

    flux = commands.add_parser(
        "flux",
        help="flux review: variances per GL account between two months, with explanations",
        description=(
            "Compare each GL account x currency of SOURCE (rolled up by the GL mapping) "
            "between --period and --compare (default: the month before): closing balances "
            "or the month's movement, in exact minor units. A variance is flagged when its "
            "threshold is met (--mode and/or of --amount and --percent; per GL account "
            "overrides); a zero comparison is new activity. Writes DIR/flux_variances.*, "
            "DIR/flux_drivers.*, DIR/findings.* (unexplained rows, unused explanations), "
            "DIR/flux_workpaper.xlsx (explanation and explained_by to fill in; give it back "
            "with --explanations) and DIR/flux_run.json. Exit code 0, or 2 on bad input."
        ),
    )
    flux.add_argument("source", metavar="SOURCE", help="the ledger")
    cli._source_mapping_option(flux)  # noqa: SLF001 - the same option text as every command
    cli._adapter_option(flux)  # noqa: SLF001
    flux.add_argument(
        "--gl-mapping", metavar="FILE", type=Path, required=True, help="GL mapping TOML"
    )
    flux.add_argument(
        "--period",
        metavar="YYYY-MM",
        type=cli._month,  # noqa: SLF001
        required=True,
        help="the month reviewed",
    )
    flux.add_argument(
        "--compare",
        metavar="YYYY-MM",
        type=cli._month,  # noqa: SLF001
        default=None,
        help="the month compared with (default: the month before --period)",
    )
    flux.add_argument("--measure", choices=("closing", "movement"), default="closing")
    flux.add_argument("--mode", choices=_MODES, default="and", help="how the tests combine")
    flux.add_argument(
        "--amount",
        metavar="N",
        type=_amount,
        default=10_000,
        help="the amount test, whole major units of each row's currency (default 10000)",
    )
    flux.add_argument(
        "--percent",
        metavar="P",
        default="10",
        help="the percent test, of |comparison| (default 10; at most two decimals)",
    )
    flux.add_argument(
        "--overrides", metavar="FILE", type=Path, default=None, help="per GL account thresholds"
    )
    flux.add_argument(
        "--history",
        metavar="K",
        type=_history,
        default=3,
        help="months before --period read for trend flags (default 3: a trend is 3 steps)",
    )
    flux.add_argument(
        "--explanations",
        metavar="FILE",
        type=Path,
        default=None,
        help="a CSV (gl_account, asset, explanation, explained_by) or a filled workpaper",
    )
    flux.add_argument("--out", metavar="DIR", type=Path, required=True, help="output directory")
    flux.add_argument("--json", action="store_true", help="print the run as one JSON object")
    flux.set_defaults(handler=run_flux)


def run_flux(args: argparse.Namespace) -> int:
    """Read, review, merge, write, print (see the module docstring)."""
    from ledger_audit import cli  # noqa: PLC0415 - loaded already

    cli._require_adapter(args.adapter)  # noqa: SLF001
    cli._require_ledger(args.source)  # noqa: SLF001
    cli._require_file(args.mapping, "source mapping")  # noqa: SLF001
    cli._require_file(args.gl_mapping, "GL mapping")  # noqa: SLF001
    cli._require_file(args.overrides, "flux overrides")  # noqa: SLF001
    cli._require_file(args.explanations, "flux explanations")  # noqa: SLF001

    from ledger_audit.analytics.flux import FluxSpec, Threshold, build_flux  # noqa: PLC0415
    from ledger_audit.analytics.flux_explanations import merge_explanations  # noqa: PLC0415
    from ledger_audit.analytics.flux_params import (  # noqa: PLC0415
        month_before,
        percent_bp,
        read_overrides,
    )
    from ledger_audit.sources.flux_explanations import read_explanations  # noqa: PLC0415
    from ledger_audit.sources.gl_mapping import read_gl_mapping  # noqa: PLC0415
    from ledger_audit.sources.reading import read_ledger  # noqa: PLC0415
    from ledger_audit.spec import Period  # noqa: PLC0415

    threshold = Threshold(args.mode, args.amount, percent_bp(args.percent, "--percent"))
    overrides = read_overrides(str(args.overrides), threshold) if args.overrides else ()
    explanations = read_explanations(args.explanations) if args.explanations else None
    mapping = read_gl_mapping(args.gl_mapping)
    current = Period.month(args.period)
    compare = args.compare or month_before(args.period)
    if compare == args.period:
        raise InputError("--compare", f"is the reviewed month itself ({compare})")
    spec = FluxSpec(
        current=current,
        comparison=Period.month(compare),
        threshold=threshold,
        overrides=overrides,
        measure=args.measure,
        history=tuple(
            Period.month(month_before(args.period, k)) for k in range(args.history, 0, -1)
        ),
    )
    read = read_ledger(args.source, mapping=args.mapping, adapter=args.adapter, vendor_checks=False)
    explained = merge_explanations(
        build_flux(read.frames, mapping, spec),
        explanations,
        None if args.explanations is None else str(args.explanations),
    )
    run = _write(args, read, explained)
    if args.json:
        sys.stdout.write(json.dumps(run, sort_keys=True) + "\n")
    else:
        from ledger_audit.analytics.flux_summary import render_flux  # noqa: PLC0415

        sys.stdout.write(render_flux(explained))
        names = [o["name"] for o in run["outputs"]] + [RUN_FILE]
        sys.stdout.write(f"Wrote {', '.join(names)} in {args.out}.\n")
    return 0


def _write(args: argparse.Namespace, read: LedgerRead, explained: ExplainedFlux) -> dict[str, Any]:
    """Write the tables, the workpaper and ``flux_run.json``; return the run record."""
    from ledger_audit.analytics.flux_summary import spec_json  # noqa: PLC0415
    from ledger_audit.close.flux_section import flux_result, flux_tables  # noqa: PLC0415
    from ledger_audit.exports.atomic import write_text_atomic  # noqa: PLC0415
    from ledger_audit.exports.findings import write_findings, write_frame  # noqa: PLC0415
    from ledger_audit.exports.manifest import (  # noqa: PLC0415
        build_manifest,
        digest_file,
        digest_frames,
        digest_outputs,
    )
    from ledger_audit.exports.tables import file_stem  # noqa: PLC0415
    from ledger_audit.exports.workpaper import write_workpaper  # noqa: PLC0415
    from ledger_audit.findings import FINDINGS_SCHEMA  # noqa: PLC0415

    spec = explained.report.spec
    files = [
        (args.mapping, "source mapping"),
        (args.gl_mapping, "gl mapping"),
        (args.overrides, "overrides"),
        (args.explanations, "explanations"),
    ]
    inputs = [digest_frames(read.frames, name=read.report.source)]
    inputs += [digest_file(Path(p), name=str(p)) for p, _ in files if p is not None]
    roles = {str(p): role for p, role in files if p is not None}
    variances, drivers = flux_tables(explained)
    out: Path = args.out
    written = [
        *write_frame(variances.frame, out, file_stem(variances.name)),
        *write_frame(drivers.frame, out, file_stem(drivers.name)),
        *write_findings(explained.findings.select(list(FINDINGS_SCHEMA)), out),
    ]
    parameters = {
        "source": args.source,
        "source_mapping": str(args.mapping or "-"),
        "adapter": args.adapter or "-",
        **{k: json.dumps(v, sort_keys=True) for k, v in spec_json(spec).items()},
    }
    result = flux_result(explained)
    manifest = build_manifest(
        run_time_ns=spec.current.end_ns,  # the data's as-of: a rerun gives the same bytes
        parameters={k: v if isinstance(v, str) else str(v) for k, v in parameters.items()},
        inputs=inputs,
        coverage=(result,),
    )
    written.append(
        write_workpaper(
            out / "flux_workpaper.xlsx",
            manifest,
            (variances, drivers),
            explained.findings,
            as_of_ns=spec.current.end_ns,
        )
    )
    run: dict[str, Any] = {
        "command": "flux",
        "version": manifest.version,
        "source": args.source,
        "source_mapping": None if args.mapping is None else str(args.mapping),
        "adapter": args.adapter,
        "parameters": spec_json(spec),
        "inputs": [
            {
                "name": d.name,
                "role": roles.get(d.name, "ledger"),
                "sha256": d.sha256,
                "size": d.size,
            }
            for d in inputs
        ],
        "explanations_sha256": next(
            (d.sha256 for d in inputs if roles.get(d.name) == "explanations"), None
        ),
        "counts": explained.counts(),
        "coverage": {
            "status": result.status,
            "checked": result.coverage.checked,
            "unit": result.coverage.unit,
            "scope": result.coverage.scope,
            "unproven": list(result.coverage.unproven),
        },
        "unused_explanations": explained.unused.select("where", "reason").to_dicts(),
        "outputs": [
            {"name": d.name, "sha256": d.sha256, "size": d.size}
            for d in digest_outputs(out, written)
        ],
    }
    write_text_atomic(out / RUN_FILE, json.dumps(run, indent=2, sort_keys=True) + "\n")
    return run
