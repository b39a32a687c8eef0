"""An audited Beancount file cannot run code of its choosing: its own plugins are held back."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_audit.sources.adapters.beancount import load
from ledger_audit.sources.adapters.beancount.read import PLUGINS_ENV

_PLUGIN = """
from pathlib import Path

__plugins__ = ["mark"]


def mark(entries, options_map):
    Path(__file__).with_name("ran.txt").write_text("the plugin ran")
    return entries, []
"""

_LEDGER = """option "insert_pythonpath" "TRUE"
plugin "local_plugin"
plugin "beancount.plugins.auto_accounts"

2025-01-02 * "Coffee"
  Expenses:Food   3.50 USD
  Assets:Cash    -3.50 USD
"""


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "local_plugin.py").write_text(_PLUGIN)
    path = tmp_path / "books.beancount"
    path.write_text(_LEDGER)
    yield path
    sys.modules.pop("local_plugin", None)  # a later test's plugin of that name is its own


def test_a_plugin_the_file_brings_is_not_run_and_the_notes_say_so(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PLUGINS_ENV, raising=False)
    adapted = load(ledger)
    assert not (ledger.parent / "ran.txt").exists()
    held = [n for n in adapted.report.notes if "local_plugin" in n]
    assert len(held) == 1
    assert "were not run" in held[0]
    assert PLUGINS_ENV in held[0]
    # Beancount's own plugin still ran: the accounts it opens are there, the row loaded.
    assert adapted.frames.entries.height == 2
    assert any("beancount.plugins.auto_accounts" in n for n in adapted.report.notes)


def test_the_auditor_can_choose_to_run_the_files_plugins(
    ledger: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PLUGINS_ENV, "run")
    adapted = load(ledger)
    assert (ledger.parent / "ran.txt").read_text() == "the plugin ran"
    assert not any("were not run" in n for n in adapted.report.notes)
