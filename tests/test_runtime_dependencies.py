"""Every package the code imports is installed by the runtime lock, not only by the dev one.

The README's first command sets up ``requirements/main.lock`` alone; the tests run in the dev
environment, which holds more. A module imported by the package but pinned only in the dev
lock passes every test and breaks on a user's machine: DuckDB was such a module, and the
demo's close reported its invariants check as crashed (``No module named 'duckdb'``).
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ledger_audit"
EXTRAS = {"pyspark": "spark"}
"""Imported only where an optional extra is installed (``pyproject.toml``'s extras)."""


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pinned(lock: Path) -> set[str]:
    pins = (line.split("==", 1)[0] for line in lock.read_text().splitlines() if "==" in line)
    return {_normal(name) for name in pins if not name.startswith((" ", "#"))}


def _imported(path: Path) -> set[str]:
    """Top-level modules ``path`` imports (absolute imports only)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _third_party() -> dict[str, set[str]]:
    """Each third-party module the package imports, and the files importing it."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in _imported(path):
            if name in sys.stdlib_module_names or name in {"ledger_audit", "_typeshed"}:
                continue
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_package_is_in_the_runtime_lock() -> None:
    pinned = _pinned(ROOT / "requirements" / "main.lock")
    owners = packages_distributions()
    missing = {}
    for module, files in _third_party().items():
        if module in EXTRAS:
            continue
        distributions = {_normal(d) for d in owners.get(module, [])}
        assert distributions, f"{module} (imported by {sorted(files)}) is not installed at all"
        if not distributions & pinned:
            missing[module] = sorted(files)
    assert not missing, f"imported but pinned only outside requirements/main.lock: {missing}"


def test_the_scan_sees_the_packages_the_code_stands_on() -> None:
    """The check above is only as good as the scan: it must find the known imports."""
    modules = _third_party()
    for known in ("polars", "sqlalchemy", "duckdb", "great_expectations", "numba"):
        assert known in modules, known
    pinned = _pinned(ROOT / "requirements" / "main.lock")
    assert {"polars", "duckdb", "great-expectations"} <= pinned
    assert "pytest" not in pinned  # the dev lock's own tools stay out of the runtime one
