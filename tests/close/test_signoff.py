"""Sign-off: bound to the bundle's numbers; a rerun with the same numbers keeps it valid, a
changed ledger row makes it stale, naming the digest that changed."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import pytest
from openpyxl import load_workbook

from ledger_audit.cli import main
from ledger_audit.close.bundle import REPORT, WORKPAPER, write_bundle
from ledger_audit.close.run import CloseParameters, run_close
from ledger_audit.errors import InputError
from ledger_audit.exports.signoffs import SIGNOFFS, read_signoffs, sign_bundle
from tests.conftest import DemoFactory

DAY = dt.date(2025, 2, 3)


def _close_into(folder: Path, ledger: Path, statements: tuple[str, ...]) -> None:
    close = run_close(CloseParameters(source=str(ledger), period="2025-01", statements=statements))
    write_bundle(close, folder, run_time_ns=0)


def _cover(folder: Path) -> list[tuple[object, ...]]:
    book = load_workbook(folder / WORKPAPER, read_only=True)
    rows = list(book["Cover"].iter_rows(values_only=True))
    book.close()
    return rows


def test_a_signoff_stays_valid_until_the_numbers_change(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = demo_factory()
    assert demo.statements is not None
    statements = tuple(str(p) for p in demo.statements.statements)
    ledger = tmp_path / "ledger.sqlite"
    shutil.copy(demo.ledger_path, ledger)
    folder = tmp_path / "closes" / "2025-01"
    _close_into(folder, ledger, statements)
    html = (folder / REPORT).read_text(encoding="utf-8")
    assert "Not signed yet" in html

    # the preparer signs through the command line, the reviewer through the function
    code = main(
        [
            "signoff",
            str(folder),
            "--role",
            "preparer",
            "--name",
            "Ada Lovelace",
            "--date",
            "2025-02-03",
        ]
    )
    assert code == 0
    assert "preparer Ada Lovelace, signed 2025-02-03: valid" in capsys.readouterr().out
    sign_bundle(folder, role="reviewer", name="Grace Hopper", on=DAY)
    signed = read_signoffs(folder / SIGNOFFS)
    assert [(s.role, s.name) for s in signed] == [
        ("preparer", "Ada Lovelace"),
        ("reviewer", "Grace Hopper"),
    ]
    assert all("report.html" not in dict(s.outputs) for s in signed)  # numbers, not pages
    assert all("tables/trial_balance.csv" in dict(s.outputs) for s in signed)

    # the same close again: still valid, in the report and on the workpaper's cover
    _close_into(folder, ledger, statements)
    html = (folder / REPORT).read_text(encoding="utf-8")
    assert html.count("<td>valid</td>") == 2
    assert "<td>stale</td>" not in html
    cover = [c for row in _cover(folder) for c in row if c is not None]
    assert "Grace Hopper" in cover
    assert cover.count("valid") == 2

    # one ledger row changes: both sign-offs are stale, naming what changed
    with sqlite3.connect(ledger) as db:
        db.execute("DROP TRIGGER entries_no_update")
        db.execute(
            "UPDATE entries SET amount = amount + 1 WHERE rowid = "
            "(SELECT rowid FROM entries WHERE account_id = 'assets:bank:operating:usd' "
            "ORDER BY transaction_id, entry_index LIMIT 1)"
        )
    _close_into(folder, ledger, statements)
    html = (folder / REPORT).read_text(encoding="utf-8")
    assert html.count("<td>stale</td>") == 2
    assert "tables/trial_balance.csv changed (sha256 " in html
    stale = [str(c) for row in _cover(folder) for c in row if c is not None]
    assert stale.count("stale") == 2
    assert any("tables/trial_balance.csv changed" in c for c in stale)
    assert main(["signoff", str(folder), "--role", "approver", "--name", "X"]) == 2


def test_signing_needs_a_bundle_a_role_and_a_name(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no manifest\.json"):
        sign_bundle(tmp_path, role="reviewer", name="A", on=DAY)
    (tmp_path / "manifest.json").write_text('{"format": "other"}', encoding="utf-8")
    with pytest.raises(InputError, match=r"is not a ledger-audit/evidence-bundle/1 manifest"):
        sign_bundle(tmp_path, role="reviewer", name="A", on=DAY)
