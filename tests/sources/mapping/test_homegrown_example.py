"""examples/homegrown end to end: build it, init, verify, reconcile and close through the CLI.

The builder runs as a user runs it (the project's Python on the script); everything else
goes through ``ledger_audit.cli.main`` with the example's reviewed ``mapping.toml``. The
planted copy must show each planted anomaly at its payment or account; the clean copy
must reconcile without a break and verify and close at zero findings.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import main
from tests.conftest import PROJECT_ROOT

EXAMPLE = PROJECT_ROOT / "examples" / "homegrown"
MAPPING = EXAMPLE / "mapping.toml"
IBAN = "DE89370400440532013000"
PLANTED_RULES = {"entry.unbalanced", "payment.duplicate_suspected", "balance.drift"}


@dataclass(frozen=True, slots=True)
class Built:
    """One built copy of the example and the starter files init wrote for it."""

    folder: Path
    database: Path
    statement: Path
    init: Path
    planted: list[dict[str, object]]

    @property
    def rules(self) -> Path:
        return self.init / "rules.toml"


def _build(folder: Path, *, clean: bool) -> Built:
    command = [sys.executable, str(EXAMPLE / "build.py"), "--out", str(folder)]
    subprocess.run([*command, *(["--clean"] if clean else [])], check=True, capture_output=True)
    init = folder / "init"
    assert main(["init", str(folder / "payments.sqlite"), "--out", str(init)]) == 0
    rules = init / "rules.toml"
    text = rules.read_text(encoding="utf-8")
    assert text.count('account_ref = "FILL-IN"') == 1  # one bank account: 1010
    rules.write_text(text.replace('account_ref = "FILL-IN"', f'account_ref = "{IBAN}"'))
    planted = json.loads((folder / "planted.json").read_text(encoding="utf-8"))
    return Built(
        folder,
        folder / "payments.sqlite",
        folder / "statements" / "bank-2025-02.csv",
        init,
        planted,
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory.mktemp("homegrown-planted"), clean=False)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory.mktemp("homegrown-clean"), clean=True)


def _verify(built: Built, out: Path) -> tuple[int, pl.DataFrame]:
    code = main(["verify", str(built.database), "--mapping", str(MAPPING), "--out", str(out)])
    return code, pl.read_parquet(out / "findings.parquet")


def _reconcile(built: Built, out: Path) -> tuple[int, pl.DataFrame]:
    code = main(
        [
            "reconcile",
            "--ledger",
            str(built.database),
            "--mapping",
            str(MAPPING),
            "--statements",
            str(built.statement),
            "--rules",
            str(built.rules),
            "--period",
            "2025-02",
            "--out",
            str(out),
        ]
    )
    return code, pl.read_parquet(out / "breaks.parquet")


def _close(built: Built, out: Path) -> tuple[int, pl.DataFrame]:
    code = main(
        [
            "close",
            "--period",
            "2025-02",
            "--ledger",
            str(built.database),
            "--mapping",
            str(MAPPING),
            "--statements",
            str(built.statement),
            "--rules",
            str(built.rules),
            "--gl-mapping",
            str(built.init / "gl-mapping.toml"),
            "--out",
            str(out),
        ]
    )
    return code, pl.read_parquet(out / "2025-02" / "tables" / "findings.parquet")


def _planted_at(built: Built, rule: str) -> dict[str, object]:
    (entry,) = [p for p in built.planted if p["rule"] == rule]
    return entry


def test_init_writes_a_starter_that_verify_refuses_until_filled_in(
    planted: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    starter = planted.init / "mapping.toml"
    assert "FILL-IN" in starter.read_text(encoding="utf-8")
    code = main(
        ["verify", str(planted.database), "--mapping", str(starter), "--out", str(tmp_path)]
    )
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert "mapping.toml:" in error
    assert "Traceback" not in error


def test_verify_finds_each_planted_anomaly_where_it_was_planted(
    planted: Built, tmp_path: Path
) -> None:
    code, findings = _verify(planted, tmp_path)
    assert code == 1  # the unbalanced payment is critical
    assert set(findings["rule"]) >= PLANTED_RULES
    unbalanced = findings.filter(pl.col("rule") == "entry.unbalanced")
    assert unbalanced["transaction_id"].to_list() == [
        str(_planted_at(planted, "entry.unbalanced")["payment_id"])
    ]
    duplicate = _planted_at(planted, "payment.duplicate_suspected")
    suspects = findings.filter(pl.col("rule") == "payment.duplicate_suspected")
    assert str(duplicate["payment_id"]) in suspects["transaction_id"].to_list()
    drift = findings.filter(pl.col("rule") == "balance.drift")
    assert drift["account_id"].to_list() == [_planted_at(planted, "balance.drift")["account"]]


def test_the_bank_account_reconciles_without_a_break(
    planted: Built, clean: Built, tmp_path: Path
) -> None:
    for built, out in ((planted, tmp_path / "planted"), (clean, tmp_path / "clean")):
        code, breaks = _reconcile(built, out)
        assert code == 0
        assert breaks.height == 0
        matches = pl.read_parquet(out / "matches.parquet")
        assert matches.height > 100  # every bank line of the month


def test_the_close_bundle_lists_the_planted_anomalies(planted: Built, tmp_path: Path) -> None:
    code, findings = _close(planted, tmp_path)
    assert code == 1
    assert set(findings["rule"]) >= PLANTED_RULES
    for name in ("report.html", "workpaper.xlsx", "manifest.json"):
        assert (tmp_path / "2025-02" / name).is_file()


def test_the_clean_copy_verifies_and_closes_at_zero_findings(clean: Built, tmp_path: Path) -> None:
    code, findings = _verify(clean, tmp_path / "verify")
    assert findings["rule"].to_list() == []
    assert code == 0
    code, findings = _close(clean, tmp_path / "close")
    assert findings["rule"].to_list() == []
    assert code == 0


def test_the_builder_writes_the_same_ledger_every_time(tmp_path: Path) -> None:
    dumps = []
    for name in ("one", "two"):
        folder = tmp_path / name
        subprocess.run(
            [sys.executable, str(EXAMPLE / "build.py"), "--out", str(folder)],
            check=True,
            capture_output=True,
        )
        with closing(sqlite3.connect(folder / "payments.sqlite")) as conn:
            rows = "\n".join(conn.iterdump())
        statement = (folder / "statements" / "bank-2025-02.csv").read_bytes()
        dumps.append((rows, statement, (folder / "planted.json").read_bytes()))
    assert dumps[0] == dumps[1]
