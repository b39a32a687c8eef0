"""The beancount adapter: the demo written as a Beancount file, and one small file per anomaly.

Account ids differ: the demo's canonical ids are written under Beancount names by
``plain_account`` (``assets:bank:operating:usd`` -> ``Assets:Bank:Operating:Usd``,
``revenue:`` -> ``Income:``), so the comparisons map the canonical side through it. Each
transaction is written as its latest version (posted ``*``, pending ``!``; voided holds left
out), which is what the replay counts at the end of the month, so every balance cell,
pending included, compares.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.demo.vendors.beancount import account_names, write_beancount
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.sources import LedgerFrames, load_ledger
from ledger_audit.sources.adapters import check_adapted, load_adapted
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.beancount import load
from ledger_audit.sources.adapters.plaintext import minor_units
from ledger_audit.spec import Period, VerifySpec

DemoFactory = Callable[..., DemoSummary]
END = 2**62
JANUARY = Period("2025-01", 1_735_689_600_000_000_000, 1_738_368_000_000_000_000)

HEAD = """\
option "title" "Tiny"
2025-01-01 commodity USD
  scale: 2
2025-01-01 open Assets:Bank USD
2025-01-01 open Assets:Bank:Savings USD
2025-01-01 open Liabilities:Wallet:Alice USD
2025-01-01 open Income:Fees USD
2025-01-01 open Equity:Opening

2025-01-02 * "Deposit"
  Assets:Bank   100.00 USD
  Liabilities:Wallet:Alice  -100.00 USD
"""


@pytest.fixture(scope="module")
def demo_frames(demo_factory: DemoFactory) -> LedgerFrames:
    frames, _ = load_ledger(str(demo_factory(clean=True).ledger_path))
    return frames


@pytest.fixture(scope="module")
def demo_file(demo_frames: LedgerFrames, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beancount(demo_frames, tmp_path_factory.mktemp("bean") / "demo.beancount")


def _audit(adapted: Adapted) -> AuditResult:
    return audit(
        adapted.frames,
        adapted.report,
        VerifySpec(source="beancount"),
        native=adapted.native,
    )


def _ledger(tmp_path: Path, text: str, name: str = "tiny.beancount") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _renamed(rows: pl.DataFrame) -> pl.DataFrame:
    """Canonical account ids under their Beancount names (the writer's naming)."""
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


# --- the demo, round trip ------------------------------------------------------------------


def test_the_demo_reads_back_with_the_same_balances_and_trial_balance(
    demo_file: Path, demo_frames: LedgerFrames
) -> None:
    adapted = load_adapted(demo_file, "beancount")
    assert adapted.report.rejected == 0
    assert adapted.frames.ledgers["ledger_id"].to_list() == ["demo"]
    ours = balances_as_of(adapted.frames, END).collect().drop("ledger_id")
    theirs = _renamed(balances_as_of(demo_frames, END).collect()).select(ours.columns)
    assert ours.height == theirs.height > 50
    assert ours.equals(theirs)
    assert ours["pending_debits"].sum() > 0  # the unresolved holds came back as pending
    tb_ours = build_trial_balance(adapted.frames, JANUARY).rows.drop("ledger_id")
    tb_theirs = _renamed(build_trial_balance(demo_frames, JANUARY).rows)
    assert tb_ours.equals(tb_theirs.select(tb_ours.columns))


def test_a_clean_copy_gives_no_finding_and_every_assertion_is_replayed(demo_file: Path) -> None:
    adapted = load(demo_file)
    result = _audit(adapted)
    assert result.findings.height == 0
    assertions = next(n.result for n in adapted.native if n.result.check == "beancount_assertions")
    assert assertions.coverage.checked == 62  # one per account x commodity of the demo
    assert "own verdict compared" in assertions.coverage.scope


def test_what_a_beancount_file_cannot_carry_is_stated_as_not_proven(demo_file: Path) -> None:
    adapted = load(demo_file)
    notes = " | ".join(adapted.report.notes)
    for words in ("no hash chain", "no time of entry", "no idempotency keys", "stores no balances"):
        assert words in notes
    assert "each is read as 00:00 UTC" in notes
    load_check = next(r for r in _audit(adapted).results if r.check == "load")
    assert load_check.coverage.unproven == adapted.report.notes
    assert adapted.frames.balances.height == 0
    assert adapted.frames.transactions["idempotency_key"].null_count() == len(
        adapted.frames.transactions
    )


# --- one minimal reproducer per finding ----------------------------------------------------


def test_a_failing_balance_assertion_is_found_at_its_line(tmp_path: Path) -> None:
    path = _ledger(tmp_path, HEAD + "\n2025-01-03 balance Assets:Bank  99.00 USD\n")
    result = _audit(load(path))
    failed = _findings(result, RuleId.BALANCE_ASSERTION_FAILED)
    assert failed.select("locator", "expected", "actual", "difference").rows() == [
        (f"{path}:14", "99.00 USD", "100.00 USD", "1.00")
    ]
    # Beancount fails it too: one cause, one finding (no loader error, no disagreement).
    assert result.findings.height == 1


def test_assertions_follow_beancount_semantics(tmp_path: Path) -> None:
    text = (
        HEAD
        + """
2025-01-03 * "To savings"
  Assets:Bank:Savings   40.00 USD
  Assets:Bank  -40.00 USD

2025-01-03 balance Assets:Bank:Savings  0.00 USD
2025-01-04 balance Assets:Bank  100.00 USD
2025-01-04 balance Assets:Bank:Savings  40.001 USD
2025-01-04 balance Liabilities:Wallet:Alice  -100.02 ~ 0.05 USD
"""
    )
    adapted = load(_ledger(tmp_path, text))
    assert _audit(adapted).findings.height == 0
    checked = next(n.result for n in adapted.native if n.result.check == "beancount_assertions")
    # start of day (the 3rd's transfer is not in the 3rd's assertion), subaccounts included
    # (Assets:Bank holds its Savings), the inferred and the given tolerance.
    assert checked.coverage.checked == 4


def test_a_syntax_error_is_a_loader_error_at_its_line_and_the_rest_loads(tmp_path: Path) -> None:
    path = _ledger(tmp_path, HEAD + '\n2025-01-05 * "Broken\n  Assets:Bank 1.00 USD\n')
    adapted = load(path)
    errors = _findings(_audit(adapted), RuleId.SOURCE_LOADER_ERROR)
    assert errors.height >= 1
    assert errors["locator"][0] == f"{path}:14"
    assert adapted.frames.transactions.height == 1  # the deposit still loads


def test_an_amount_finer_than_the_scale_is_a_rejected_row(tmp_path: Path) -> None:
    path = _ledger(
        tmp_path,
        HEAD + '\n2025-01-03 * "Too fine"\n  Assets:Bank  1.005 USD\n  Income:Fees  -1.005 USD\n',
    )
    adapted = load(path)
    rejected = _findings(_audit(adapted), RuleId.SOURCE_REJECTED_ROW)
    assert rejected["locator"].to_list() == [
        f"{path} {path}:14 posting 1",
        f"{path} {path}:14 posting 2",
    ]
    assert "not_integral_at_scale (scale 2)" in rejected["message"][0]
    postings = next(c for c in adapted.report.source_counts if c.table == "postings")
    assert (postings.read, postings.loaded, postings.rejected) == (4, 2, 2)
    assert adapted.frames.transactions.height == 1  # never half a transaction


def test_a_declared_or_given_scale_decides_what_fits(tmp_path: Path) -> None:
    text = HEAD.replace("scale: 2", "scale: 4") + (
        '\n2025-01-03 * "Fine at 4"\n  Assets:Bank  1.005 USD\n  Income:Fees  -1.005 USD\n'
    )
    path = _ledger(tmp_path, text)
    assert load(path).report.rejected == 0
    assert set(load(path).frames.assets["asset_id"]) == {"USD/4"}
    assert load(path, scales={"USD": 2}).report.rejected > 0


def test_a_cost_or_price_posting_is_unsupported_not_dropped(tmp_path: Path) -> None:
    text = HEAD.replace("2025-01-01 open Equity:Opening", "2025-01-01 open Assets:Broker") + (
        '\n2025-01-03 * "Buy"\n  Assets:Broker  2 AAPL {10.00 USD}\n  Assets:Bank  -20.00 USD\n'
        '\n2025-01-04 * "FX"\n  Assets:Bank  -1.00 USD @ 0.90 EUR\n  Assets:Broker  0.90 EUR\n'
    )
    path = _ledger(tmp_path, text)
    adapted = load(path)
    unsupported = _findings(_audit(adapted), RuleId.SOURCE_UNSUPPORTED)
    assert unsupported.select("locator", "actual").rows() == [
        (f"{path}:14", "a posting with a cost or lot"),
        (f"{path}:18", "a posting with a price"),
    ]
    transactions = next(c for c in adapted.report.source_counts if c.table == "transactions")
    assert (transactions.read, transactions.loaded, transactions.rejected) == (3, 1, 2)


def test_an_unbalanced_transaction_loads_and_is_found_twice_over(tmp_path: Path) -> None:
    path = _ledger(
        tmp_path,
        HEAD + '\n2025-01-03 * "Off"\n  Assets:Bank  5.00 USD\n  Income:Fees  -4.00 USD\n',
    )
    result = _audit(load(path))
    assert _findings(result, RuleId.ENTRY_UNBALANCED).height == 1  # the canonical invariant
    loader = _findings(result, RuleId.SOURCE_LOADER_ERROR)  # and Beancount's own word
    assert loader["locator"].to_list() == [f"{path}:14"]
    assert "does not balance" in loader["message"][0]


def test_the_replay_does_not_trust_beancounts_verdict(tmp_path: Path) -> None:
    # Beancount reads 1.005 USD and its assertion holds; at scale 2 that transaction is not
    # loaded, so the replayed balance differs and the two verdicts disagree: both are said.
    text = HEAD + (
        '\n2025-01-03 * "Too fine"\n  Assets:Bank  1.005 USD\n  Income:Fees  -1.005 USD\n'
        "\n2025-01-04 balance Assets:Bank  101.005 USD\n"
    )
    result = _audit(load(_ledger(tmp_path, text)))
    assert _findings(result, RuleId.BALANCE_ASSERTION_FAILED).height == 1
    inconsistent = _findings(result, RuleId.SOURCE_INCONSISTENT)
    assert inconsistent["actual"].to_list() == ["replay: fails; beancount: holds"]


# --- mapping conventions -------------------------------------------------------------------


def test_flags_file_order_zone_and_accounts(tmp_path: Path) -> None:
    text = HEAD + (
        '\n2025-01-05 ! "Hold"\n  Liabilities:Wallet:Alice  3.00 USD\n  Income:Fees\n'
        '\n2025-01-04 * "Earlier date, later in the file"\n'
        "  Liabilities:Wallet:Alice  1.00 USD\n  Income:Fees\n"
        "\n2025-01-06 close Income:Fees\n"
    )
    frames = load(_ledger(tmp_path, text), zone="Europe/Paris").frames
    tx = frames.transactions.select("transaction_id", "status", "effective_ns", "description")
    assert tx.rows() == [
        ("t00000001", "posted", 1_735_772_400_000_000_000, "Deposit"),  # 2025-01-02 00:00 CET
        ("t00000002", "pending", 1_736_031_600_000_000_000, "Hold"),
        ("t00000003", "posted", 1_735_945_200_000_000_000, "Earlier date, later in the file"),
    ]
    accounts = frames.accounts.select("account_id", "normal_balance", "asset_id", "closed_ns")
    assert accounts.rows() == [
        ("Assets:Bank", "debit", "USD/2", None),
        ("Assets:Bank:Savings", "debit", "USD/2", None),
        ("Equity:Opening", "credit", None, None),
        ("Income:Fees", "credit", "USD/2", 1_736_118_000_000_000_000),
        ("Liabilities:Wallet:Alice", "credit", "USD/2", None),
    ]
    # the interpolated posting (no number written) is Beancount's own booking, loaded exactly
    fees = frames.entries.filter(pl.col("account_id") == "Income:Fees")
    assert fees.select("direction", "amount").rows() == [("credit", 300), ("credit", 100)]


@given(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, places=6),
    st.integers(min_value=0, max_value=6),
)
def test_minor_units_are_exact_decimal_arithmetic(number: Decimal, scale: int) -> None:
    units, reason = minor_units(pl.col("n"), pl.col("s"))
    row = pl.DataFrame(
        {"n": [f"{number:f}"], "s": [scale]}, schema={"n": pl.String, "s": pl.Int32}
    ).select(units.alias("u"), reason.alias("r"))
    scaled = number.scaleb(scale)
    if scaled == scaled.to_integral_value():
        assert row.rows() == [(int(scaled), None)]
    else:
        assert row.rows() == [(None, "not_integral_at_scale")]


# --- bad input -----------------------------------------------------------------------------


def test_bad_input_names_the_adapter_the_file_and_what_was_expected(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--adapter beancount: .*missing\.beancount.*not a file"):
        check_adapted(tmp_path / "missing.beancount", "beancount")
    wrong = _ledger(tmp_path, HEAD, "ledger.txt")
    with pytest.raises(InputError, match=r"--adapter beancount: .*ledger\.txt.*\.beancount"):
        load_adapted(wrong, "beancount")


def test_includes_and_pads_keep_a_total_file_order(tmp_path: Path) -> None:
    (tmp_path / "b.beancount").write_text(
        '2025-01-04 * "Included"\n  Assets:Bank  1.00 USD\n  Equity:Opening\n', encoding="utf-8"
    )
    text = HEAD + (
        '\ninclude "b.beancount"\n'
        "2025-01-05 pad Assets:Bank:Savings Equity:Opening\n"
        "2025-01-06 balance Assets:Bank:Savings  7.00 USD\n"
    )
    path = _ledger(tmp_path, text)
    adapted = load(path)
    sources = [
        (tid, json.loads(meta)["source"], json.loads(meta)["flag"])
        for tid, meta in adapted.frames.transactions.select("transaction_id", "metadata").rows()
    ]
    # the top file by line (the pad's synthesized transaction at the pad's line), then the
    # included file: Beancount keeps no order between files, so included files go by path
    assert sources == [
        ("t00000001", f"{path}:10", "*"),
        ("t00000002", f"{path}:15", "P"),
        ("t00000003", f"{tmp_path / 'b.beancount'}:1", "*"),
    ]
    assert _audit(adapted).findings.height == 0


def test_an_unknown_zone_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--adapter beancount: zone 'Mars/Base'.*IANA"):
        load(_ledger(tmp_path, HEAD), zone="Mars/Base")
