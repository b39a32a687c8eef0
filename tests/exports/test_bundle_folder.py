"""Putting a bundle in place: the lock, the swap, the notebook normalised."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger_audit.errors import InputError
from ledger_audit.exports.bundle_folder import folder_lock, normalise_notebook, swap_in


def test_a_second_holder_of_the_lock_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / ".2025-01.lock"
    refused = pytest.raises(InputError, match="another close of 2025-01 is running here")
    with folder_lock(lock, "another close of 2025-01"), refused:  # noqa: SIM117 - order matters
        with folder_lock(lock, "another close of 2025-01"):
            pass  # never reached
    with folder_lock(lock, "x"):  # released: taken again
        assert lock.exists()


def test_swap_in_replaces_the_folder_whole(tmp_path: Path) -> None:
    folder, staging = tmp_path / "2025-01", tmp_path / ".2025-01.partial"
    folder.mkdir()
    (folder / "old.txt").write_text("old")
    staging.mkdir()
    (staging / "new.txt").write_text("new")
    swap_in(staging, folder)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2025-01"]
    assert sorted(p.name for p in folder.iterdir()) == ["new.txt"]
    fresh = tmp_path / ".2025-02.partial"
    fresh.mkdir()
    swap_in(fresh, tmp_path / "2025-02")  # nothing to replace
    assert (tmp_path / "2025-02").is_dir()


def test_normalise_keeps_parameters_and_marks_but_not_times(tmp_path: Path) -> None:
    cell = {
        "cell_type": "code",
        "id": "a1b2c3",
        "source": "x = 1",
        "outputs": [],
        "execution_count": 1,
        "metadata": {
            "execution": {"iopub.status.busy": "2026-11-24T16:43:56Z"},
            "papermill": {
                "start_time": "t0",
                "end_time": "t1",
                "duration": 0.5,
                "status": "failed",
                "exception": True,
            },
        },
    }
    notebook = {
        "cells": [cell],
        "metadata": {
            "papermill": {
                "start_time": "t0",
                "end_time": "t1",
                "duration": 3.0,
                "input_path": "/a/b.ipynb",
                "output_path": "/srv/closes/.2025-01.partial/x.ipynb",
                "parameters": {"period": "2025-01"},
            }
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook))
    normalise_notebook(path)
    once = path.read_text()
    kept = json.loads(once)
    assert kept["metadata"]["papermill"] == {"parameters": {"period": "2025-01"}}
    assert kept["cells"][0]["id"] == "cell-00"
    assert kept["cells"][0]["metadata"] == {"papermill": {"status": "failed", "exception": True}}
    normalise_notebook(path)
    assert path.read_text() == once
