"""The suite files of ``expectations/``: great-expectations suites as JSON, read at run time.

Reading them needs no GX: a suite is a name and its expectations, each a GX type, its kwargs
and, in ``meta``, the rule id its failures are reported under, their severity and a one-line
doc. ``checks.gx_suites`` turns them into GX suites.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId, Severity

SUITES_DIR = Path(__file__).resolve().parents[2] / "expectations"
"""Where the suites live: ``expectations/`` at the project root."""


@dataclass(frozen=True, slots=True)
class ExpectationSpec:
    """One expectation of a suite file.

    Attributes:
        type: the GX expectation type (``expect_...``).
        kwargs_json: its kwargs as JSON text (a frozen record holds no dict).
        rule: the rule id its failures are reported under.
        severity: the severity of those findings.
        doc: one line: what it verifies.
    """

    type: str
    kwargs_json: str
    rule: RuleId
    severity: Severity
    doc: str


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    """A suite file: its name and its expectations, in file order."""

    name: str
    expectations: tuple[ExpectationSpec, ...]


def read_suite(path: Path) -> SuiteSpec:
    """One suite file; a malformed one is an InputError naming the file and the place."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        specs = tuple(
            ExpectationSpec(
                type=str(item["type"]),
                kwargs_json=json.dumps(item.get("kwargs", {}), sort_keys=True),
                rule=RuleId(item["meta"]["rule"]),
                severity=Severity(item["meta"]["severity"]),
                doc=str(item["meta"]["doc"]),
            )
            for item in raw["expectations"]
        )
        return SuiteSpec(str(raw["name"]), specs)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}", f"not JSON: {exc.msg}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(str(path), f"not a suite (name, expectations with meta): {exc}") from exc


def read_suites(folder: Path = SUITES_DIR) -> tuple[SuiteSpec, ...]:
    """Every ``*.json`` suite in ``folder``, by file name."""
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise InputError(str(folder), "no great-expectations suites (*.json) here")
    return tuple(read_suite(path) for path in paths)
