"""Write a close's evidence bundle (DESIGN.md section 8) into one folder.

Layout::

    report.html             the report: no code, charts render offline
    report.pdf              the same report printed by headless Chromium (A4 landscape, the
                            title on every page, page numbers); without Chromium it is
                            skipped and the manifest's ``pdf`` parameter says why
    workpaper.xlsx          cover (the manifest), one sheet per table, findings to review
    tables/<table>.csv      every table, for people ...
    tables/<table>.parquet  ... and for tools (same rows)
    tables/findings.*       every finding (the findings schema)
    erp/netsuite.csv, erp/quickbooks.csv, erp/xero.csv
                            the summary journals, ready to import (with a GL mapping)
    checkpoints.json        the chain heads this close vouched for: the next close's input
    manifest.json           SHA-256 of every input and output, parameters (the JET
                            weights too), coverage (the analytics' too)
    signoffs.json           the preparer's and reviewer's sign-offs (``ledger-audit
                            signoff``), if any: kept by a rerun, shown in the report and on
                            the workpaper's cover as valid or stale (``exports.signoffs``)

Determinism: every output but ``manifest.json`` is a function of the inputs and parameters
alone. The workpaper is stamped with the period's end, not the run time, so a rerun gives
the same output digests; the manifest differs only in ``run_time``
(``exports.manifest.content_digest`` leaves it out).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ledger_audit.close.run import MonthEndClose
from ledger_audit.close.sections import close_sections, close_tables, title
from ledger_audit.exports.checkpoints import write_checkpoints
from ledger_audit.exports.erp import (
    write_netsuite_journals,
    write_quickbooks_journals,
    write_xero_journals,
)
from ledger_audit.exports.findings import write_findings, write_frame
from ledger_audit.exports.html_report import write_html_report
from ledger_audit.exports.manifest import (
    Digest,
    Manifest,
    build_manifest,
    digest_file,
    digest_frames,
    digest_outputs,
    write_manifest,
)
from ledger_audit.exports.pdf import PdfResult, write_pdf_report
from ledger_audit.exports.signoffs import SIGNOFFS, read_signoffs, signoff_status
from ledger_audit.exports.tables import file_stem
from ledger_audit.exports.workpaper import write_workpaper

REPORT = "report.html"
REPORT_PDF = "report.pdf"
WORKPAPER = "workpaper.xlsx"
MANIFEST = "manifest.json"
CHECKPOINTS = "checkpoints.json"
TABLES = "tables"
ERP = "erp"


def input_digests(close: MonthEndClose) -> tuple[Digest, ...]:
    """The ledger's canonical frames (whatever it was read from) and every input file."""
    p = close.parameters
    digests = [digest_frames(close.frames, name=close.load.source)]
    files = [p.source_mapping, *p.statements, p.gl_mapping, p.checkpoints, p.flux_explanations]
    if close.rules is not None:
        files.append(str(p.rules_path))
    digests += [digest_file(Path(f), name=f) for f in files if f]
    return tuple(digests)


def write_bundle(
    close: MonthEndClose, folder: Path, *, run_time_ns: int, pdf: bool = True
) -> Manifest:
    """Write the bundle into ``folder`` (created) and return its manifest.

    ``pdf``: print the report to ``report.pdf`` too (skipped, saying why, without Chromium).

    Files are written atomically one by one; a run that replaces an earlier bundle writes
    into a fresh folder and swaps it in (``close.execute``), so no reader sees a mix.
    """
    folder.mkdir(parents=True, exist_ok=True)
    tables = close_tables(close)
    written: list[Path] = []
    for table in (*tables.sheets, *tables.data):
        written += write_frame(table.frame, folder / TABLES, file_stem(table.name))
    written += write_findings(close.findings, folder / TABLES)
    if close.journals is not None and close.mapping is not None:
        erp = folder / ERP
        written += [
            write_netsuite_journals(close.journals, erp / "netsuite.csv"),
            write_quickbooks_journals(close.journals, erp / "quickbooks.csv"),
            write_xero_journals(close.journals, erp / "xero.csv"),
        ]
    written.append(write_checkpoints(folder / CHECKPOINTS, close.audit.checkpoints))
    data = digest_outputs(folder, written)  # each file is read once: these are kept
    tables_written = len(written)
    signoffs = tuple(
        signoff_status(s, data, close.audit.checkpoints) for s in read_signoffs(folder / SIGNOFFS)
    )
    sections = close_sections(close, tables, signoffs=signoffs)
    written.append(write_html_report(folder / REPORT, title(close), sections))
    printed = _print_report(close, folder) if pdf else PdfResult(None, "not asked for")
    if printed.path is not None:
        written.append(printed.path)
    manifest = build_manifest(
        run_time_ns=run_time_ns,
        parameters={
            **close.parameters.as_text(),
            "pdf": REPORT_PDF if printed.path is not None else f"skipped: {printed.reason}",
            **_jet_weights(close),
        },
        inputs=input_digests(close),
        outputs=(*data, *digest_outputs(folder, written[tables_written:])),
        checkpoints=close.audit.checkpoints,
        coverage=(*close.results, *(close.analytics.results if close.analytics else ())),
    )
    workpaper = write_workpaper(
        folder / WORKPAPER,
        manifest,
        (*tables.statements, *tables.sheets),
        close.readable,
        as_of_ns=close.trial_balance.period.end_ns,
        signoffs=signoffs,
    )
    manifest = manifest.with_outputs(digest_outputs(folder, [workpaper]))
    write_manifest(folder / MANIFEST, manifest)
    return manifest


def _jet_weights(close: MonthEndClose) -> dict[str, str]:
    """The JET score's weights, as the manifest records them (the score is reproducible)."""
    if close.analytics is None:
        return {}
    weights = close.analytics.jet.params.weights
    return {"jet_weights": ", ".join(f"{rule}={weight:g}" for rule, weight in weights)}


def _print_report(close: MonthEndClose, folder: Path) -> PdfResult:
    """``report.pdf``, stamped with the period's end (so a rerun gives the same bytes)."""
    end = close.trial_balance.period.end_ns // 10**9
    stamp = dt.datetime.fromtimestamp(end, tz=dt.UTC)
    return write_pdf_report(folder / REPORT, folder / REPORT_PDF, stamp=stamp)
