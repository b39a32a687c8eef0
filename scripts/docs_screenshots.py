"""Draw the README's screenshots of the close report with headless Chromium.

    .venv/bin/python scripts/docs_screenshots.py

Builds the demo ledger (600 transactions, seed 7) in a temporary folder, runs its January
close and writes ``docs/close-summary.png`` (the report's first screen at 1,400 px) and
``docs/close-bank-reconciliation.png`` (the bank reconciliation section on its own page).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ledger_audit.close.bundle import REPORT, write_bundle
from ledger_audit.close.run import CloseParameters, run_close
from ledger_audit.close.sections import close_sections, title
from ledger_audit.demo.build import build_demo
from ledger_audit.exports.html_report import write_html_report
from ledger_audit.testing.browser import screenshot

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def main() -> None:
    """Write the two screenshots into ``docs/``."""
    with tempfile.TemporaryDirectory(prefix="ledger-audit-docs-") as folder:
        work = Path(folder)
        demo = build_demo(work / "demo", transactions=600, seed=7, month="2025-01")
        if demo.statements is None:
            raise SystemExit("the demo has no statements")
        close = run_close(
            CloseParameters(
                source=str(demo.ledger_path),
                period="2025-01",
                statements=tuple(str(p) for p in demo.statements.statements),
                gl_mapping=str(ROOT / "mappings" / "demo.toml"),
            )
        )
        bundle = work / "2025-01"
        write_bundle(close, bundle, run_time_ns=0, pdf=False)
        screenshot(bundle / REPORT, DOCS / "close-summary.png", window=(1400, 1000))
        sections = [s for s in close_sections(close) if s.heading == "Bank reconciliation"]
        page = write_html_report(work / "bank.html", title(close), sections)
        screenshot(page, DOCS / "close-bank-reconciliation.png", window=(1400, 1150))
    print(f"wrote {DOCS / 'close-summary.png'} and {DOCS / 'close-bank-reconciliation.png'}")


if __name__ == "__main__":
    main()
