"""A clone without ``../shared/samples`` runs the rest of the suite; CI still fails loudly.

Real pytest runs in a subprocess, with ``LEDGER_AUDIT_SAMPLES`` pointing at a folder that
does not exist: the sample tests are collected exactly as with the samples (so nothing read
them at collection), skipped with the reason, and failed instead when ``CI`` is set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SAMPLES_ENV

SAMPLE_TESTS = ("tests/sources/bank/test_samples.py", "tests/sources/bank/test_fuzz.py")


def _pytest(*args: str, samples: Path | None, ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in {"CI", SAMPLES_ENV}}
    if samples is not None:
        env[SAMPLES_ENV] = str(samples)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _collected(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if "::" in line]


@pytest.fixture(scope="module")
def absent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clone") / "no-samples-here"


def test_without_samples_every_sample_test_is_collected_skipped_and_says_why(
    shared_samples: Path, absent: Path
) -> None:
    collected = _collected(
        _pytest("--collect-only", *SAMPLE_TESTS, samples=shared_samples, ci=None)
    )
    assert len(collected) > 20  # every sample, not a placeholder
    result = _pytest("-rs", *SAMPLE_TESTS, samples=absent, ci="false")
    assert result.returncode == 0, result.stdout + result.stderr
    summary = result.stdout.strip().splitlines()[-1]
    # the same tests as with the samples (collection read nothing), all skipped
    assert summary.startswith(f"{len(collected)} skipped in "), summary
    assert f"shared samples directory {absent} is missing" in result.stdout


def test_on_ci_missing_samples_fail_loudly(absent: Path) -> None:
    result = _pytest("-x", SAMPLE_TESTS[0], samples=absent, ci="true")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "CI is set, so this fails instead of skipping" in result.stdout
    assert f"shared samples directory {absent} is missing" in result.stdout
