"""The scheduled close: the wrapper script run as cron and systemd would, and the unit files
verified by systemd itself."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from ledger_audit.demo.summary import DemoSummary
from tests.conftest import PROJECT_ROOT, DemoFactory, missing_prerequisite

SCRIPT = PROJECT_ROOT / "scripts" / "close-last-month.sh"
DEPLOY = PROJECT_ROOT / "deploy"
INSTALLED = "/opt/ledger-audit"


def env_file(tmp_path: Path, demo: DemoSummary, statements: Path) -> Path:
    path = tmp_path / "close.env"
    path.write_text(
        f"LEDGER_AUDIT_LEDGER={demo.ledger_path}\n"
        f"LEDGER_AUDIT_OUT={tmp_path / 'closes'}\n"
        f"LEDGER_AUDIT_STATEMENTS={statements}\n"
        f"LEDGER_AUDIT_GL_MAPPING={PROJECT_ROOT / 'mappings' / 'demo.toml'}\n",
        encoding="utf-8",
    )
    return path


def run_script(*args: str, today: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LEDGER_AUDIT_TODAY": today},
        timeout=600,
    )


def test_the_script_closes_last_month_extending_the_previous_checkpoint(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    demo = demo_factory()
    assert demo.statements is not None
    statements = tmp_path / "statements"
    (statements / "2025-01").mkdir(parents=True)
    for path in demo.statements.statements:  # the bank files, as the bank delivers them
        shutil.copy(path, statements / "2025-01" / path.name)
    # the December close's checkpoints: a verify of the ledger stands in for it
    december = tmp_path / "closes" / "2024-12"
    verify = subprocess.run(
        [
            str(PROJECT_ROOT / ".venv/bin/ledger-audit"),
            "verify",
            str(demo.ledger_path),
            "--out",
            str(tmp_path / "verify"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 1, verify.stderr  # the planted critical findings
    december.mkdir(parents=True)
    shutil.copy(tmp_path / "verify" / "checkpoints.json", december / "checkpoints.json")

    done = run_script(str(env_file(tmp_path, demo, statements)), today="2025-02-02")
    assert done.returncode == 1, done.stderr  # the demo's planted chain breaks are critical
    assert "close 2025-01:" in done.stdout
    assert f"--checkpoint {december / 'checkpoints.json'}" in done.stdout
    assert "Report: " in done.stdout
    bundle = tmp_path / "closes" / "2025-01"
    assert (bundle / "report.html").is_file()
    assert (bundle / "manifest.json").is_file()


def test_no_statements_for_the_month_is_an_error_not_a_clean_close(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    demo = demo_factory()
    (tmp_path / "statements").mkdir()
    done = run_script(str(env_file(tmp_path, demo, tmp_path / "statements")), today="2025-03-15")
    assert done.returncode == 2
    assert f"close 2025-02: no statements folder {tmp_path / 'statements' / '2025-02'}" in (
        done.stderr
    )
    assert not (tmp_path / "closes" / "2025-02").exists()
    usage = run_script(today="2025-03-15")
    assert usage.returncode == 2
    assert "usage:" in usage.stderr


def test_the_retired_mapping_setting_is_refused_with_its_new_names(
    demo_factory: DemoFactory, tmp_path: Path
) -> None:
    """LEDGER_AUDIT_MAPPING was the GL mapping; a GL mapping read as a source mapping would
    fail later and less clearly, and a dropped GL mapping would skip the journals silently."""
    demo = demo_factory()
    path = env_file(tmp_path, demo, tmp_path / "statements")
    path.write_text(path.read_text() + "LEDGER_AUDIT_MAPPING=/etc/gl.toml\n", encoding="utf-8")
    done = run_script(str(path), today="2025-02-02")
    assert done.returncode == 2
    assert "LEDGER_AUDIT_MAPPING is now LEDGER_AUDIT_GL_MAPPING" in done.stderr
    assert not (tmp_path / "closes").exists()


def test_the_cron_line_runs_the_script_on_the_second_at_0630_utc() -> None:
    lines = [
        line
        for line in (DEPLOY / "cron" / "ledger-audit-close").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert "CRON_TZ=UTC" in lines
    jobs = [line for line in lines if "=" not in line.split()[0]]
    assert len(jobs) == 1
    minute, hour, day, month, weekday, user, command, *rest = jobs[0].split()
    assert (minute, hour, day, month, weekday) == ("30", "6", "2", "*", "*")
    assert user == "ledger-audit"
    assert command == f"{INSTALLED}/scripts/close-last-month.sh"
    assert rest[0] == "/etc/ledger-audit/close.env"
    assert SCRIPT.is_file()


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        missing_prerequisite("systemd-analyze not found: run scripts/ensure-tools.sh")
    return found


def test_systemd_verifies_the_units_and_the_timer_fires_on_the_second(tmp_path: Path) -> None:
    tool = systemd_analyze()
    units = []
    for path in sorted((DEPLOY / "systemd").iterdir()):
        text = path.read_text().replace(INSTALLED, str(PROJECT_ROOT))
        (tmp_path / path.name).write_text(text)
        units.append(str(tmp_path / path.name))
    verified = subprocess.run([tool, "verify", *units], capture_output=True, text=True, check=False)
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr.strip() == ""

    timer = configparser.ConfigParser(strict=False)
    timer.read(DEPLOY / "systemd" / "ledger-audit-close.timer")
    when = timer["Timer"]["OnCalendar"]
    assert timer["Timer"]["Persistent"] == "true"
    calendar = subprocess.run(
        [tool, "calendar", "--iterations", "3", when], capture_output=True, text=True, check=True
    )
    elapses = re.findall(r"\d{4}-\d{2}-(\d{2}) (\d{2}:\d{2}:\d{2}) UTC", calendar.stdout)
    assert len(elapses) == 3
    assert set(elapses) == {("02", "06:30:00")}
    service = configparser.ConfigParser(strict=False)
    service.read(DEPLOY / "systemd" / "ledger-audit-close.service")
    assert service["Service"]["ExecStart"].split() == [
        f"{INSTALLED}/scripts/close-last-month.sh",
        "/etc/ledger-audit/close.env",
    ]
    assert service["Service"]["SuccessExitStatus"] == "1"


def test_the_shipped_env_example_names_every_setting_the_script_reads() -> None:
    script = SCRIPT.read_text()
    example = (DEPLOY / "close.env.example").read_text()
    retired = {"LEDGER_AUDIT_MAPPING"}  # read only to refuse it with its new name
    read = set(re.findall(r"\$\{?(LEDGER_AUDIT_[A-Z_]+)", script)) - {"LEDGER_AUDIT_TODAY"}
    read -= retired
    named = set(re.findall(r"^#? ?(LEDGER_AUDIT_[A-Z_]+)=", example, flags=re.MULTILINE))
    assert read == named


@pytest.fixture(autouse=True)
def _venv() -> None:
    if not (PROJECT_ROOT / ".venv" / "bin" / "ledger-audit").is_file():
        missing_prerequisite("the project's .venv is not set up: run scripts/setup.sh")
