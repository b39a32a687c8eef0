"""A call in a child process gives back its value, or its error, and never outlives its call.

Every child here is a real one (a fresh interpreter) running the module-level functions
below; the failures are real too (an exception, an exit, a SIGKILL).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.child import ChildCall, ChildFailed
from ledger_audit.errors import InputError


def _frame(rows: int, name: str) -> tuple[str, pl.DataFrame, int]:
    return (
        name,
        pl.DataFrame({"n": range(rows), "text": [f"{name}{i}" for i in range(rows)]}),
        os.getpid(),
    )


def _input_error(locator: str) -> None:
    raise InputError(locator, "not a bank file")


def _bug() -> None:
    empty: dict[str, int] = {}
    empty["missing"] += 1  # the bug under test: a KeyError


class _Unpicklable(Exception):
    def __init__(self, a: int, b: int) -> None:  # its args do not rebuild it
        super().__init__(f"{a}+{b}")


def _unpicklable() -> None:
    raise _Unpicklable(1, 2)


def _exit(code: int) -> None:
    os._exit(code)


def _priority() -> int:
    return os.nice(0)


def _wait_for(path: str) -> str:
    Path(path).write_text(str(os.getpid()))
    while True:
        time.sleep(0.05)


def test_a_child_gives_back_its_value_computed_in_another_process() -> None:
    with ChildCall(_frame, 50_000, "row", what="test call") as call:
        name, frame, pid = call.result()
        assert call.pid == pid != os.getpid()
    assert name == "row"
    assert frame.equals(_frame(50_000, "row")[1])


def test_an_input_error_is_raised_again_as_it_was() -> None:
    locator = "statements/" + "x" * 1_000 + ".bai2:7"  # long: cut once, never twice
    expected = InputError(locator, "not a bank file")
    with (
        ChildCall(_input_error, locator, what="test call") as call,
        pytest.raises(InputError) as raised,
    ):
        call.result()
    assert type(raised.value) is InputError
    assert (raised.value.locator, raised.value.reason) == (expected.locator, expected.reason)
    assert str(raised.value) == str(expected)


def test_any_other_exception_is_a_child_failure_with_its_text_and_traceback() -> None:
    with ChildCall(_bug, what="test call") as call, pytest.raises(ChildFailed) as raised:
        call.result()
    assert "the test call (child process" in str(raised.value)
    assert str(raised.value).endswith("failed: KeyError: 'missing'")
    assert any("in _bug" in note for note in raised.value.__notes__)


def test_an_exception_that_does_not_pickle_back_comes_as_its_text() -> None:
    with ChildCall(_unpicklable, what="test call") as call, pytest.raises(ChildFailed) as raised:
        call.result()
    assert str(raised.value).endswith("failed: _Unpicklable: 1+2")


def test_a_child_that_exits_or_is_killed_is_a_child_failure_saying_how(tmp_path: Path) -> None:
    with ChildCall(_exit, 3, what="test call") as call, pytest.raises(ChildFailed) as raised:
        call.result()
    assert "exited with code 3 before it answered" in str(raised.value)

    marker = tmp_path / "pid"
    with ChildCall(_wait_for, str(marker), what="test call") as call:
        while not marker.exists():
            time.sleep(0.02)
        os.kill(int(marker.read_text()), signal.SIGKILL)
        with pytest.raises(ChildFailed, match="was killed by signal 9 before it answered"):
            call.result()


def test_a_call_left_early_stops_and_reaps_its_child(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    with ChildCall(_wait_for, str(marker), what="test call"):
        while not marker.exists():
            time.sleep(0.02)
    pid = int(marker.read_text())
    with pytest.raises(ProcessLookupError):  # gone and reaped: not even a zombie
        os.kill(pid, 0)


def test_a_child_runs_at_the_priority_asked_for() -> None:
    with ChildCall(_priority, what="test call", nice=19) as call:
        assert call.result() == 19
    with ChildCall(_priority, what="test call") as call:
        assert call.result() == os.nice(0)


def test_a_call_that_was_not_started_says_so() -> None:
    with pytest.raises(ChildFailed, match="was not started"):
        ChildCall(_priority, what="test call").result()


def test_a_spooled_answer_waits_in_a_file_that_is_removed_once_read(tmp_path: Path) -> None:
    with ChildCall(_frame, 50_000, "row", what="test call", spool=tmp_path) as call:
        assert call.pid is not None
        answer = tmp_path / f"answer-{call.pid}.pickle"
        while not answer.exists():  # written by the child, not sent through the pipe
            time.sleep(0.02)
        name, frame, _ = call.result()
        assert name == "row"
        assert not answer.exists()
    assert frame.equals(_frame(50_000, "row")[1])
    assert list(tmp_path.iterdir()) == []


def test_a_spooled_answer_never_read_is_removed_when_the_call_closes(tmp_path: Path) -> None:
    with ChildCall(_frame, 10, "row", what="test call", spool=tmp_path) as call:
        answer = tmp_path / f"answer-{call.pid}.pickle"
        while not answer.exists():
            time.sleep(0.02)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_spool_sends_the_answer_through_the_pipe(tmp_path: Path) -> None:
    missing = tmp_path / "absent"  # the child cannot write there
    with ChildCall(_frame, 10, "row", what="test call", spool=missing) as call:
        assert call.result()[1].equals(_frame(10, "row")[1])
    assert not missing.exists()


def test_an_error_is_sent_through_the_pipe_even_with_a_spool(tmp_path: Path) -> None:
    with (
        ChildCall(_input_error, "a.bai2:3", what="test call", spool=tmp_path) as call,
        pytest.raises(InputError, match=r"^a\.bai2:3: not a bank file$"),
    ):
        call.result()
    assert list(tmp_path.iterdir()) == []


def _exited(pid: int) -> bool:
    """Gone, or a zombie waiting for whoever adopted it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except FileNotFoundError:
        return True
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return state.split()[1] in {"Z", "X"}


def test_a_child_whose_parent_is_killed_stops(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    script = (  # a parent that calls, then waits until it is killed
        "import sys, time\n"
        f"sys.path[:0] = {sys.path!r}\n"
        "from ledger_audit.child import ChildCall\n"
        "from tests.test_child import _wait_for\n"
        f"with ChildCall(_wait_for, {str(marker)!r}, what='test call'):\n"
        "    time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        child = int(marker.read_text())
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 10
        while not _exited(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _exited(child)
    finally:
        parent.kill()
        parent.wait()
