"""The journal-entry-testing notebook runs on the demo and shows what the pack found."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ledger_audit.demo.jet_plant import JET_KEY_FILE
from tests.conftest import DemoFactory
from tests.notebooks.test_notebooks import DefaultsTo, defaults_to, run, text_of

__all__ = ["defaults_to"]  # the fixture, imported for pytest


def test_the_jet_notebook_states_completeness_and_lists_the_planted_flags(
    demo_factory: DemoFactory, defaults_to: DefaultsTo, tmp_path: Path
) -> None:
    demo = demo_factory()
    defaults_to(demo)
    text = text_of(run("06_journal_entry_testing.ipynb", tmp_path))
    assert "roll-forward 2025-01" in text
    assert text.index("roll-forward 2025-01") < text.index("jet.unbalanced")
    assert "not applicable" in text  # the who-rules: the demo has no actor field
    key = json.loads((demo.out_dir / JET_KEY_FILE).read_text(encoding="utf-8"))
    assert {item["rule"] for item in key} <= set(re.findall(r"jet\.[a-z_]+", text))
    assert "back-dated d" in text  # the controls rendered
