"""The report as a PDF, printed by headless Chromium, for readers who archive PDFs.

Chromium prints ``report.html`` as the browser lays it out for print: A4 landscape pages
(wide tables and the charts keep their width), a header with the report's title and a
footer with the page number on every page (the report's own ``@page`` rules: see
``exports.html_report``), the charts as plotly drew them. The network is off, as for the
browser tests: the report needs none.

Same inputs, same bytes: Chromium stamps the print time into the PDF's ``CreationDate`` and
``ModDate``; they are replaced by the stamp the caller passes (the close passes its period's
end), at the same length, so the file's cross-reference offsets stay right.

Without Chromium, nothing is written and :func:`write_pdf_report` says why; the close
records that reason in its manifest. ``scripts/ensure-chromium.sh`` installs Chromium.
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.exports.atomic import write_bytes_atomic
from ledger_audit.testing.browser import ChromiumNotFoundError, find_chromium

DEFAULT_TIMEOUT_S = 180.0
_PDF_DATE = re.compile(rb"\(D:\d{14}[^)]{0,12}\)")


@dataclass(frozen=True, slots=True)
class PdfResult:
    """What became of the PDF.

    Attributes:
        path: the PDF written, or None when it was skipped.
        reason: why it was skipped (None when written).
    """

    path: Path | None
    reason: str | None = None


def _stamp(data: bytes, when: dt.datetime) -> bytes:
    """The PDF with every ``(D:...)`` date replaced by ``when`` where the length allows."""
    fixed = when.strftime("(D:%Y%m%d%H%M%S+00'00')").encode()

    def replace(match: re.Match[bytes]) -> bytes:
        return fixed if len(match.group(0)) == len(fixed) else match.group(0)

    return _PDF_DATE.sub(replace, data)


def write_pdf_report(
    report: Path,
    path: Path,
    *,
    stamp: dt.datetime,
    chromium: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> PdfResult:
    """Print ``report`` (an HTML file) to ``path``; skipped, with the reason, without Chromium.

    A Chromium that fails or times out is a skip too, with its reason: the HTML report is the
    evidence, the PDF a convenience copy of it.
    """
    try:
        executable = find_chromium() if chromium is None else chromium
    except ChromiumNotFoundError as exc:
        return PdfResult(None, f"no PDF renderer: {exc}")
    with tempfile.TemporaryDirectory(prefix="ledger-audit-pdf-") as folder:
        printed = Path(folder) / "report.pdf"
        command = [
            str(executable),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={Path(folder) / 'profile'}",
            "--no-pdf-header-footer",  # the report's own @page header and footer instead
            "--virtual-time-budget=10000",
            f"--print-to-pdf={printed}",
            report.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(  # noqa: S603 - our own executable and arguments
                command, capture_output=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            return PdfResult(None, f"chromium did not print {report.name} in {timeout_s:.0f} s")
        except OSError as exc:
            return PdfResult(None, f"chromium {executable} could not start: {exc}")
        if done.returncode != 0 or not printed.is_file():
            tail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
            return PdfResult(
                None, f"chromium exited with {done.returncode}: {' '.join(tail) or 'no PDF'}"
            )
        data = _stamp(printed.read_bytes(), stamp)
    return PdfResult(write_bytes_atomic(path, data))
