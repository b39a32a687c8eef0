"""Where the project's files are, so a notebook finds its inputs from any working directory.

JupyterLab starts a notebook's kernel in the notebook's folder (``notebooks/``), papermill
and the CLI wherever they were asked to; the notebooks' defaults (``data/demo/...``,
``rules/default.toml``, ``mappings/demo.toml``) name files of the project. A relative path
is therefore looked up, in order:

1. in the working directory (a path the user typed relative to where they are);
2. in the project root, except that ``data/...`` means the data folder: ``$LEDGER_AUDIT_DATA``
   when set (tests and shared installs point it elsewhere), else ``<project root>/data``.

The first candidate that exists is used. A missing input is an ``InputError`` naming the
places looked at, with the command that builds the demo when the demo is what is missing.
This module sits outside the data flow, like the notebooks and the CLI that use it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ledger_audit.errors import InputError

DATA_ENV = "LEDGER_AUDIT_DATA"
"""Environment variable naming the data folder that ``data/...`` paths resolve into."""

_DATA = "data"
_DEMO = "demo"
_SQLITE = "sqlite:///"


def project_root() -> Path | None:
    """The folder holding ``pyproject.toml`` above the package (an editable install), or None.

    An installed wheel has no project root: relative paths then resolve against the working
    directory and the data folder only.
    """
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def data_folder() -> Path:
    """``$LEDGER_AUDIT_DATA`` when set, else ``data/`` in the project root (else the cwd)."""
    configured = os.environ.get(DATA_ENV)
    if configured:
        return Path(os.path.abspath(Path(configured).expanduser()))  # noqa: PTH100 - keep links
    return (project_root() or Path.cwd()) / _DATA


def candidates(path: Path) -> tuple[Path, ...]:
    """Where a path is looked for, in order (an absolute path only where it says).

    Candidates are absolute but keep their symbolic links: the path a close records in its
    manifest is the one the user named, not where a link happens to point today.
    """
    path = path.expanduser()
    if path.is_absolute():
        return (path,)
    found = [Path.cwd() / path]
    in_data = len(path.parts) > 1 and path.parts[0] == _DATA
    if in_data:
        # data/ is the data folder ($LEDGER_AUDIT_DATA, else the project's data/), only that
        found.append(data_folder().joinpath(*path.parts[1:]))
    root = project_root()
    if root is not None and not in_data:
        found.append(root / path)
    return tuple(dict.fromkeys(Path(os.path.abspath(p)) for p in found))  # noqa: PTH100 - links


def input_path(value: str | None) -> str | None:
    """An input path or URL, made absolute where it exists; None stays None.

    URLs other than a relative ``sqlite:///file`` (PostgreSQL, in-memory SQLite) are left
    as given: the reader that opens them says what is wrong with them.

    Raises:
        InputError: the value is empty, or the file or folder exists in none of the places
            looked at.
    """
    if value is None:
        return None
    if not value.strip():
        raise InputError(repr(value), "an empty path: name a file or folder, or pass None")
    if value.startswith(_SQLITE):
        rest = value[len(_SQLITE) :]
        if not rest or rest.startswith(("/", ":memory:")):
            return value
        return _SQLITE + _existing(value, Path(rest))
    if "://" in value:
        return value
    return _existing(value, Path(value))


def input_paths(values: Sequence[str]) -> list[str]:
    """:func:`input_path` of each value (a list of statement files, say), in order."""
    return [str(input_path(value)) for value in values]


def _existing(value: str, path: Path) -> str:
    looked = candidates(path)
    for candidate in looked:
        if candidate.exists():
            return str(candidate)
    demo = data_folder() / _DEMO
    if any(candidate.is_relative_to(demo) for candidate in looked):
        raise InputError(
            value,
            f"the demo is not built in {demo}: run `bash scripts/demo.sh` or "
            f"`.venv/bin/ledger-audit demo --out {demo}`, or pass your own file",
        )
    places = ", ".join(str(candidate) for candidate in looked)
    raise InputError(value, f"no such file or folder (looked in {places})")
