"""Notebook inputs resolve from any working directory: the user's cwd first, then the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_audit.errors import InputError
from ledger_audit.paths import DATA_ENV, data_folder, input_path, input_paths, project_root
from tests.conftest import PROJECT_ROOT

DEMO_LEDGER = "data/demo/ledger.sqlite"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with nothing of the project in it, and no data folder override."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.delenv(DATA_ENV, raising=False)
    return cwd


@pytest.fixture
def data(elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder holding a (fake) demo ledger, named by ``$LEDGER_AUDIT_DATA``."""
    assert not (elsewhere / "data").exists()
    folder = tmp_path / "data"
    (folder / "demo").mkdir(parents=True)
    (folder / "demo" / "ledger.sqlite").write_bytes(b"")
    monkeypatch.setenv(DATA_ENV, str(folder))
    return folder


def test_the_project_root_is_where_pyproject_is() -> None:
    assert project_root() == PROJECT_ROOT


def test_the_data_folder_is_the_projects_unless_the_environment_names_one(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert data_folder() == PROJECT_ROOT / "data"
    monkeypatch.setenv(DATA_ENV, str(elsewhere))
    assert data_folder() == elsewhere


def test_project_files_resolve_from_any_working_directory(elsewhere: Path) -> None:
    assert input_path("rules/default.toml") == str(PROJECT_ROOT / "rules" / "default.toml")
    assert input_path("mappings/demo.toml") == str(PROJECT_ROOT / "mappings" / "demo.toml")
    (elsewhere / "notebooks").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(elsewhere / "notebooks")
        assert input_path("rules/default.toml") == str(PROJECT_ROOT / "rules" / "default.toml")


def test_data_paths_resolve_into_the_data_folder(data: Path) -> None:
    assert input_path(DEMO_LEDGER) == str(data / "demo" / "ledger.sqlite")
    assert input_path(f"sqlite:///{DEMO_LEDGER}") == f"sqlite:///{data / 'demo' / 'ledger.sqlite'}"


@pytest.mark.usefixtures("data")
def test_a_path_relative_to_the_working_directory_wins(elsewhere: Path) -> None:
    mine = elsewhere / "data" / "demo" / "ledger.sqlite"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"")
    (elsewhere / "rules").mkdir()
    (elsewhere / "rules" / "default.toml").write_text("", encoding="utf-8")
    assert input_path(DEMO_LEDGER) == str(mine)
    assert input_path("rules/default.toml") == str(elsewhere / "rules" / "default.toml")
    assert input_paths(["rules/default.toml", "mappings/demo.toml"]) == [
        str(elsewhere / "rules" / "default.toml"),
        str(PROJECT_ROOT / "mappings" / "demo.toml"),
    ]


def test_absolute_paths_urls_and_none_pass_through(data: Path) -> None:
    ledger = data / "demo" / "ledger.sqlite"
    assert input_path(str(ledger)) == str(ledger)
    assert input_path(None) is None
    for url in (
        "postgresql+psycopg://auditor@db.example/ledger",
        "sqlite:///:memory:",
        f"sqlite:///{ledger}",
    ):
        assert input_path(url) == url


@pytest.mark.usefixtures("elsewhere")
def test_a_missing_demo_says_how_to_build_it_in_one_line(tmp_path: Path) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_ENV, str(tmp_path / "empty"))
        patch.chdir(tmp_path)  # a demo built in the checkout (scripts/demo.sh) is not seen
        with pytest.raises(InputError) as raised:
            input_path(DEMO_LEDGER)
    message = str(raised.value)
    assert message.startswith(
        f"{DEMO_LEDGER}: the demo is not built in {tmp_path / 'empty' / 'demo'}"
    )
    assert "bash scripts/demo.sh" in message
    assert "ledger-audit demo --out" in message
    assert "\n" not in message
    assert raised.value._render_traceback_() == [f"InputError: {message}"]


def test_any_other_missing_input_names_where_it_was_looked_for(elsewhere: Path) -> None:
    with pytest.raises(InputError) as raised:
        input_paths(["rules/default.toml", "rules/nope.toml"])
    assert str(raised.value) == (
        f"rules/nope.toml: no such file or folder (looked in {elsewhere / 'rules' / 'nope.toml'}, "
        f"{PROJECT_ROOT / 'rules' / 'nope.toml'})"
    )
    with pytest.raises(InputError, match=r"^/nowhere/x\.bai2: no such file or folder"):
        input_path("/nowhere/x.bai2")


def test_an_empty_path_is_an_error_not_the_working_directory() -> None:
    for empty in ("", "  "):
        with pytest.raises(InputError, match="an empty path"):
            input_path(empty)


def test_paths_keep_the_links_the_user_named(elsewhere: Path, data: Path) -> None:
    """A close records its inputs' paths: a symbolic link stays the path that was given."""
    (elsewhere / "ledger-link.sqlite").symlink_to(data / "demo" / "ledger.sqlite")
    assert input_path("ledger-link.sqlite") == str(elsewhere / "ledger-link.sqlite")
    assert input_path(str(elsewhere / "ledger-link.sqlite")) == str(
        elsewhere / "ledger-link.sqlite"
    )
    (elsewhere / "data-link").symlink_to(data, target_is_directory=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(DATA_ENV, str(elsewhere / "data-link"))
        assert input_path(DEMO_LEDGER) == str(elsewhere / "data-link" / "demo" / "ledger.sqlite")
