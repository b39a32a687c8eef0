"""The hledger adapter: the demo written as an hledger journal, and one small journal per anomaly.

The real ``hledger`` program reads every journal (``scripts/ensure-tools.sh`` installs it;
without it these tests skip locally and fail on CI). Account ids differ as for Beancount:
the canonical ids are written under ``plain_account`` names, and the comparisons map the
canonical side through it; each transaction is written as its latest version.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.demo.vendors.beancount import account_names
from ledger_audit.demo.vendors.hledger import write_hledger
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import LedgerFrames, load_ledger
from ledger_audit.sources.adapters import check_adapted, load_adapted
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.hledger import load
from ledger_audit.spec import Period, VerifySpec
from tests.conftest import missing_prerequisite

DemoFactory = Callable[..., DemoSummary]
END = 2**62
JANUARY = Period("2025-01", 1_735_689_600_000_000_000, 1_738_368_000_000_000_000)

HEAD = """\
account Bank          ; type: A
account Owed:Alice    ; type: L
account Income:Fees

2025-01-02 * Deposit
    Bank              100.00 USD
    Owed:Alice       -100.00 USD
"""


@pytest.fixture(autouse=True, scope="module")
def _hledger_installed() -> None:
    if shutil.which("hledger") is None:
        missing_prerequisite("hledger is not installed (scripts/ensure-tools.sh installs it)")


@pytest.fixture(scope="module")
def demo_frames(demo_factory: DemoFactory) -> LedgerFrames:
    frames, _ = load_ledger(str(demo_factory(clean=True).ledger_path))
    return frames


@pytest.fixture(scope="module")
def demo_journal(demo_frames: LedgerFrames, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_hledger(demo_frames, tmp_path_factory.mktemp("hledger") / "demo.journal")


def _audit(adapted: Adapted) -> AuditResult:
    return audit(
        adapted.frames,
        adapted.report,
        VerifySpec(source="hledger"),
        native=adapted.native,
    )


def _journal(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiny.journal"
    path.write_text(text, encoding="utf-8")
    return path


def _renamed(rows: pl.DataFrame) -> pl.DataFrame:
    names = rows.select(pl.col("account_id").unique())
    names = names.with_columns(account_names(names["account_id"]).alias("plain"))
    return (
        rows.join(names, on="account_id", how="left")
        .with_columns(pl.col("plain").alias("account_id"))
        .drop("plain", "ledger_id")
        .sort("account_id", "asset_id")
    )


def _findings(result: AuditResult, rule: RuleId) -> pl.DataFrame:
    return result.findings.filter(pl.col("rule") == rule.value)


def _assertions(adapted: Adapted) -> pl.DataFrame:
    return next(n.result for n in adapted.native if n.result.check == "hledger_assertions").findings


# --- the demo, round trip ------------------------------------------------------------------


def test_the_demo_reads_back_with_the_same_balances_and_trial_balance(
    demo_journal: Path, demo_frames: LedgerFrames
) -> None:
    adapted = load_adapted(demo_journal, "hledger")
    assert adapted.report.rejected == 0
    ours = balances_as_of(adapted.frames, END).collect().drop("ledger_id")
    theirs = _renamed(balances_as_of(demo_frames, END).collect()).select(ours.columns)
    assert ours.height == theirs.height > 50
    assert ours.equals(theirs)
    tb_ours = build_trial_balance(adapted.frames, JANUARY).rows.drop("ledger_id")
    tb_theirs = _renamed(build_trial_balance(demo_frames, JANUARY).rows)
    assert tb_ours.equals(tb_theirs.select(tb_ours.columns))


def test_a_clean_copy_gives_no_finding_and_hledger_agrees_on_every_assertion(
    demo_journal: Path,
) -> None:
    adapted = load(demo_journal)
    assert _audit(adapted).findings.height == 0
    result = next(n.result for n in adapted.native if n.result.check == "hledger_assertions")
    assert result.coverage.checked == 62
    assert "own verdict compared on every one" in result.coverage.scope


def test_what_a_journal_cannot_carry_is_stated_as_not_proven(demo_journal: Path) -> None:
    adapted = load(demo_journal)
    notes = " | ".join(adapted.report.notes)
    for words in ("no hash chain", "no time of entry", "no idempotency keys", "stores no balances"):
        assert words in notes
    load_check = next(r for r in _audit(adapted).results if r.check == "load")
    assert load_check.coverage.unproven == adapted.report.notes


# --- one minimal reproducer per finding ----------------------------------------------------


def test_a_failing_assertion_is_found_at_its_line_and_hledger_agrees(tmp_path: Path) -> None:
    text = HEAD + (
        "\n2025-01-03 * Fee\n    Owed:Alice    1.00 USD = -98.00 USD\n    Income:Fees\n"
        "\n2025-01-04 * Fee\n    Owed:Alice    1.00 USD = -90.00 USD\n    Income:Fees\n"
    )
    path = _journal(tmp_path, text)
    adapted = load(path)
    result = _audit(adapted)
    failed = _findings(result, RuleId.BALANCE_ASSERTION_FAILED)
    assert failed.select("locator", "expected", "actual").rows() == [
        (f"{path}:10", "-98.00 USD", "-99.00 USD"),
        (f"{path}:14", "-90.00 USD", "-98.00 USD"),
    ]
    # hledger stops at its first failure: it agrees there, and judged nothing after it.
    assert result.findings.height == 2
    scope = next(n.result for n in adapted.native if n.result.check == "hledger_assertions")
    assert "the 1 it judged" in scope.coverage.scope


def test_assertions_follow_hledger_semantics(tmp_path: Path) -> None:
    text = HEAD + (
        "\n2025-01-02 * Same day, later in the file\n"
        "    Bank:Savings       40.00 USD = 40.00 USD\n"
        "    Bank              -40.00 USD = 60.00 USD\n"
        "    Bank               0 USD =* 100.00 USD\n"
        "    Bank               5.00 EUR == 5.00 EUR\n"
        "    Income:Fees       -5.00 EUR\n"
    )
    adapted = load(_journal(tmp_path, text))
    # after the posting, inclusive of it; '=' without and '=*' with subaccounts; '=='
    # ('Bank' still holds 60.00 USD, so its total assertion fails on that other commodity).
    failed = _assertions(adapted)
    assert failed.select("locator", "expected", "actual").rows() == [
        (f"{tmp_path / 'tiny.journal'}:13", "5.00 EUR", "5.00 EUR"),
    ]
    assert "other commodities not zero: 60.00 USD" in failed["message"][0]
    assert _findings(_audit(adapted), RuleId.SOURCE_INCONSISTENT).height == 0  # hledger agrees


def test_a_syntax_error_is_a_loader_error_at_its_line(tmp_path: Path) -> None:
    path = _journal(tmp_path, HEAD + "\n2025-13-01 * Bad date\n    Bank  1 USD\n    Owed:Alice\n")
    adapted = load(path)
    errors = _findings(_audit(adapted), RuleId.SOURCE_LOADER_ERROR)
    assert errors.select("locator", "actual", "severity").rows() == [
        (f"{path}:9", "well-formed but invalid date: 2025-13-1", "critical")
    ]  # critical: nothing in the journal was audited
    assert adapted.frames.transactions.height == 0
    assert any("hledger refused the journal" in note for note in adapted.report.notes)


def test_an_unbalanced_transaction_is_hledgers_loader_error(tmp_path: Path) -> None:
    path = _journal(
        tmp_path, HEAD + "\n2025-01-03 * Off\n    Bank  5.00 USD\n    Owed:Alice  -4.00 USD\n"
    )
    errors = _findings(_audit(load(path)), RuleId.SOURCE_LOADER_ERROR)
    assert errors["locator"].to_list() == [f"{path}:9"]
    assert "could not balance this transaction" in errors["message"][0]


def test_an_amount_finer_than_the_scale_is_a_rejected_row(tmp_path: Path) -> None:
    path = _journal(tmp_path, HEAD + "\n2025-01-03 * Fine\n    Bank  1.005 USD\n    Income:Fees\n")
    adapted = load(path)
    rejected = _findings(_audit(adapted), RuleId.SOURCE_REJECTED_ROW)
    assert rejected["locator"].to_list() == [
        f"{path} {path}:9 posting 1",
        f"{path} {path}:9 posting 2",
    ]
    assert adapted.frames.transactions.height == 1
    assert load(path, scales={"USD": 3}).report.rejected == 0


def test_price_and_virtual_postings_are_unsupported_not_dropped(tmp_path: Path) -> None:
    path = _journal(
        tmp_path,
        HEAD
        + "\n2025-01-03 * FX\n    Bank  -1.00 USD @ 0.90 EUR\n    Bank  0.90 EUR\n"
        + "\n2025-01-04 * Budget\n    Bank  1.00 USD\n    Income:Fees\n"
        + "    (Budget:Food)  10.00 USD\n",
    )
    unsupported = _findings(_audit(load(path)), RuleId.SOURCE_UNSUPPORTED)
    assert sorted(unsupported.select("locator", "actual").rows()) == [
        (f"{path}:13", "a virtual posting"),
        (f"{path}:9", "a posting with a price"),
    ]


def test_status_marks_file_order_and_account_types(tmp_path: Path) -> None:
    text = HEAD + (
        "\n2025-01-05 ! Hold\n    Owed:Alice  3.00 USD\n    Income:Fees\n"
        "\n2025-01-04 Earlier date, later in the file\n    Owed:Alice  1.00 USD\n    Misc\n"
    )
    adapted = load(_journal(tmp_path, text))
    tx = adapted.frames.transactions.select("transaction_id", "status", "effective_ns")
    assert tx.rows() == [
        ("t00000001", "posted", 1_735_776_000_000_000_000),
        ("t00000002", "pending", 1_736_035_200_000_000_000),
        ("t00000003", "posted", 1_735_948_800_000_000_000),
    ]
    accounts = adapted.frames.accounts.select("account_id", "normal_balance").rows()
    assert accounts == [
        ("Bank", "debit"),  # type: A
        ("Income:Fees", "credit"),  # hledger infers Revenue from the name
        ("Misc", "debit"),  # no class at all: said in the notes
        ("Owed:Alice", "credit"),  # type: L
    ]
    assert any("read as debit-normal: Misc" in note for note in adapted.report.notes)


# --- bad input -----------------------------------------------------------------------------


def test_bad_input_names_the_adapter_the_file_and_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--adapter hledger: .*nope\.journal.*not a file"):
        check_adapted(tmp_path / "nope.journal", "hledger")


def test_a_missing_hledger_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _journal(tmp_path, HEAD)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(InputError, match=r"install hledger: scripts/ensure-tools\.sh"):
        check_adapted(path, "hledger")


def test_hledger_is_time_boxed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--adapter hledger: .*did not finish within"):
        load(_journal(tmp_path, HEAD), timeout_s=1e-9)
