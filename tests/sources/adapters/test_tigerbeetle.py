"""The TigerBeetle adapter on the demo written as a TigerBeetle export folder.

Account ids differ: TigerBeetle's are u128 numbers, one per canonical account and asset (a
multi-asset account becomes one TigerBeetle account per asset). The comparisons with the
canonical demo map them back through the generator's ``accounts`` frame (canonical
``account_id`` and ``asset_id`` -> TigerBeetle ``id``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.demo.vendors.tigerbeetle import TigerBeetleExport, pair_legs, write_tigerbeetle
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.reports.trial_balance import build_trial_balance
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources import LedgerFrames, load_ledger
from ledger_audit.sources.adapters import check_adapted, load_adapted
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.tigerbeetle import fields
from ledger_audit.spec import Period, VerifySpec

DemoFactory = Callable[..., DemoSummary]
END = 2**62
NAME = "tigerbeetle"
PENDING, POST, VOID, LINKED = 2, 4, 8, 1


@pytest.fixture(scope="module")
def demo_frames(demo_factory: DemoFactory) -> LedgerFrames:
    frames, _ = load_ledger(str(demo_factory(clean=True).ledger_path))
    return frames


@pytest.fixture
def export(tmp_path: Path, demo_frames: LedgerFrames) -> TigerBeetleExport:
    return write_tigerbeetle(demo_frames, tmp_path / "tb")


def _audit(adapted: Adapted) -> AuditResult:
    return audit(
        adapted.frames,
        adapted.report,
        VerifySpec(source=NAME),
        native=adapted.native,
    )


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _edit(
    export: TigerBeetleExport, table: str, edit: Callable[[list[dict[str, Any]]], None]
) -> None:
    path = export.folder / f"{table}.jsonl"
    records = _records(path)
    edit(records)
    _write(path, records)


def _canonical_ids(export: TigerBeetleExport, rows: pl.DataFrame) -> pl.DataFrame:
    ids = export.accounts.select(
        pl.col("id").alias("account_id"), pl.col("account_id").alias("name"), "asset_id"
    )
    return rows.join(ids, on=["account_id", "asset_id"], how="left").with_columns(
        pl.col("name").alias("account_id")
    )


def _rules(result: AuditResult) -> dict[str, int]:
    counts = result.findings.group_by("rule").len()
    return dict(zip(counts["rule"].to_list(), counts["len"].to_list(), strict=True))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_the_demo_reads_back_with_the_same_balances_and_trial_balance(
    tmp_path: Path, demo_frames: LedgerFrames, fmt: str
) -> None:
    export = write_tigerbeetle(demo_frames, tmp_path / fmt, fmt=fmt)  # type: ignore[arg-type]
    adapted = load_adapted(export.folder, NAME)
    assert adapted.report.rejected == 0
    key = ["account_id", "asset_id"]
    cells = ["posted_debits", "posted_credits", "pending_debits", "pending_credits", "posted"]
    nonzero = pl.any_horizontal(pl.col(c) != 0 for c in cells[:4])
    ours = _canonical_ids(export, balances_as_of(adapted.frames, END, "recorded").collect())
    theirs = balances_as_of(demo_frames, END, "recorded").collect()
    assert (
        ours.filter(nonzero)
        .select(*key, *cells)
        .sort(key)
        .equals(theirs.filter(nonzero).select(*key, *cells).sort(key))
    )
    january = Period.month("2025-01")
    columns = [
        "account_id",
        "asset_id",
        "normal_balance",
        "opening",
        "debits",
        "credits",
        "closing",
    ]
    mine = _canonical_ids(export, build_trial_balance(adapted.frames, january).rows)
    expected = build_trial_balance(demo_frames, january).rows
    moved = pl.any_horizontal(pl.col(c) != 0 for c in ("opening", "debits", "credits", "closing"))
    assert (
        mine.filter(moved)
        .select(columns)
        .sort(key)
        .equals(expected.filter(moved).select(columns).sort(key))
    )
    assert adapted.report.count("transactions").read == export.transfers


def test_a_clean_copy_has_no_finding_and_says_what_tigerbeetle_cannot_prove(
    export: TigerBeetleExport,
) -> None:
    check_adapted(export.folder, NAME)
    adapted = load_adapted(export.folder, NAME)
    result = _audit(adapted)
    assert result.findings.height == 0
    summary = {row["rule"]: row["status"] for row in result.summary().iter_rows(named=True)}
    assert summary[RuleId.BALANCE_DRIFT] == "passed"
    assert summary[RuleId.IDEMPOTENCY_CONFLICT] == "passed"
    assert summary[RuleId.PENDING_OVERPOSTED] == "passed"
    # No vendor chain: what a chain would prove is not passed (the seal alone is no history).
    for rule in (RuleId.CHAIN_TAMPERED, RuleId.CHAIN_RESEALED, RuleId.CHAIN_TRUNCATED):
        assert summary[rule] != "passed", rule
    notes = " ".join(adapted.report.notes)
    for missing in ("no hash chain", "no separate effective time", "no reversal link"):
        assert missing in notes
    native = next(n.result for n in adapted.native if n.result.check == "tigerbeetle_transfers")
    assert native.coverage.checked == export.transfers + export.accounts.height
    # The version the export states is recorded with the ledger.
    meta = json.loads(adapted.frames.ledgers["metadata"][0])
    assert meta["tigerbeetle"]["version"] == "0.16.59"


def test_linked_chains_are_recorded_as_groups(export: TigerBeetleExport) -> None:
    adapted = load_adapted(export.folder, NAME)
    meta = adapted.frames.transactions.select(
        pl.col("metadata").str.json_path_match("$.tigerbeetle.linked_group").alias("group")
    )
    groups = meta.drop_nulls().group_by("group").len()
    # The demo's FX conversions are four legs: two transfers chained each.
    assert groups.height > 0
    assert set(groups["len"].to_list()) == {2}


def test_a_drifted_account_counter_is_drift_at_that_account(export: TigerBeetleExport) -> None:
    def bump(records: list[dict[str, Any]]) -> None:
        records[3]["debits_posted"] = str(int(records[3]["debits_posted"]) + 7)

    _edit(export, "accounts", bump)
    drifted = _records(export.folder / "accounts.jsonl")[3]["id"]
    result = _audit(load_adapted(export.folder, NAME))
    drift = result.findings.filter(pl.col("rule") == RuleId.BALANCE_DRIFT)
    assert drift["account_id"].to_list() == [drifted]
    assert _rules(result) == {RuleId.BALANCE_DRIFT: 1}


def test_a_conflicting_replay_is_an_idempotency_conflict_and_a_rejected_record(
    export: TigerBeetleExport,
) -> None:
    def replay(records: list[dict[str, Any]]) -> None:
        again = dict(records[10])
        records.append(dict(records[11]))  # identical: a benign replay, merged
        again["amount"] = str(int(again["amount"]) + 1)
        records.append(again)

    _edit(export, "transfers", replay)
    records = _records(export.folder / "transfers.jsonl")
    adapted = load_adapted(export.folder, NAME)
    result = _audit(adapted)
    conflict = result.findings.filter(pl.col("rule") == RuleId.IDEMPOTENCY_CONFLICT).row(
        0, named=True
    )
    assert conflict["transaction_id"] == records[10]["id"]
    assert conflict["locator"] == f"{export.folder / 'transfers.jsonl'}:{len(records)}"
    assert conflict["actual"] == "different amount"
    assert "line 11 was kept" in conflict["message"]
    rejected = adapted.report.rejections.row(0, named=True)
    assert (rejected["locator"], rejected["reason"]) == (
        f"line {len(records)}",
        "conflicting_replay",
    )
    counts = {c.table: c for c in adapted.report.source_counts}
    assert counts["tigerbeetle.transfers"].rejected == 1
    assert counts["tigerbeetle.transfers"].read == export.transfers + 2
    assert "1 identical replay(s)" in " ".join(adapted.report.notes)
    assert _rules(result) == {RuleId.IDEMPOTENCY_CONFLICT: 1, RuleId.SOURCE_REJECTED_ROW: 1}


def _first_post(records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    posts = [r for r in records if r["flags"] & POST]
    by_id = {r["id"]: r for r in records}
    return posts[0], by_id[posts[0]["pending_id"]]


def test_a_post_beyond_its_pending_amount_is_overposted(export: TigerBeetleExport) -> None:
    def over(records: list[dict[str, Any]]) -> None:
        post, pending = _first_post(records)
        post["amount"] = str(int(pending["amount"]) + 1)

    _edit(export, "transfers", over)
    _, pending = _first_post(_records(export.folder / "transfers.jsonl"))
    result = _audit(load_adapted(export.folder, NAME))
    over_found = result.findings.filter(pl.col("rule") == RuleId.PENDING_OVERPOSTED)
    assert over_found["transaction_id"].to_list() == [pending["id"]]
    assert RuleId.BALANCE_DRIFT in _rules(result)  # the counters hold what TigerBeetle posted


def test_an_unmapped_ledger_rejects_the_record_with_its_line(export: TigerBeetleExport) -> None:
    def unmapped(records: list[dict[str, Any]]) -> None:
        records[4]["ledger"] = 9

    _edit(export, "transfers", unmapped)
    adapted = load_adapted(export.folder, NAME)
    rejected = adapted.report.rejections.to_dicts()
    assert rejected == [
        {
            "source": str(export.folder / "transfers.jsonl"),
            "table": "transfers",
            "locator": "line 5",
            "column": "ledger",
            "reason": "unmapped_ledger",
            "raw_value": "9",
        }
    ]
    assert adapted.frames.transactions.height == export.transfers - 1
    assert RuleId.SOURCE_REJECTED_ROW in _rules(_audit(adapted))


@pytest.mark.parametrize(
    ("amount", "reason"),
    [
        (str(2**128), "beyond_u128"),
        (str(2**128 - 2), "amount_beyond_38_digits"),
        ("12.5", "not_an_integer"),
        ("-3", "not_an_integer"),
    ],
)
def test_an_amount_beyond_the_canonical_range_rejects_the_transfer(
    export: TigerBeetleExport, amount: str, reason: str
) -> None:
    def wide(records: list[dict[str, Any]]) -> None:
        records[0]["amount"] = amount

    _edit(export, "transfers", wide)
    adapted = load_adapted(export.folder, NAME)
    assert adapted.report.rejections.select("locator", "column", "reason").row(0) == (
        "line 1",
        "amount",
        reason,
    )
    assert adapted.report.rejected == 1


def test_an_amount_beyond_int64_takes_the_wide_decimal_path(export: TigerBeetleExport) -> None:
    big = 2**70

    def wide(records: list[dict[str, Any]]) -> None:
        records[0]["amount"] = str(big)

    _edit(export, "transfers", wide)
    adapted = load_adapted(export.folder, NAME)
    assert adapted.report.rejected == 0
    assert adapted.frames.entries.schema["amount"] == WIDE_AMOUNT
    first = _records(export.folder / "transfers.jsonl")[0]["id"]
    amounts = adapted.frames.entries.filter(pl.col("transaction_id") == first)["amount"]
    assert [int(a) for a in amounts] == [big, big]


def _tiny(
    tmp_path: Path,
    transfers: list[dict[str, Any]],
    *,
    version: str = "0.16.59",
    end: int | None = None,
) -> Path:
    """A two-account export (credit-normal wallet 10, debit-normal bank 20) of ``transfers``."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    accounts = [
        {"id": "10", "ledger": 1, "code": 2, "flags": 2, "timestamp": "100"},
        {"id": "20", "ledger": 1, "code": 1, "flags": 0, "timestamp": "101"},
    ]
    zero = {
        "debits_pending": "0",
        "debits_posted": "0",
        "credits_pending": "0",
        "credits_posted": "0",
    }
    _write(folder / "accounts.jsonl", [{**zero, **a} for a in accounts])
    base = {"pending_id": "0", "timeout": 0, "ledger": 1, "code": 1, "flags": 0}
    _write(folder / "transfers.jsonl", [{**base, **t} for t in transfers])
    source = f'version = "{version}"\n' + (f'end_ns = "{end}"\n' if end is not None else "")
    (folder / "ledgers.toml").write_text(
        f'[source]\n{source}[ledgers]\n1 = "USD/2"\n[codes]\n1 = "debit"\n'
    )
    return folder


def _deposit(id_: str, amount: str, at: int, flags: int = 0, **more: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "debit_account_id": "20",
        "credit_account_id": "10",
        "amount": amount,
        "timestamp": str(at),
        "flags": flags,
        **more,
    }


def test_a_pending_transfer_that_timed_out_gets_a_synthetic_expiry(tmp_path: Path) -> None:
    second = 10**9
    folder = _tiny(
        tmp_path,
        [
            _deposit("1", "500", 1000, PENDING, timeout=5),
            _deposit("2", "700", 2000, PENDING, timeout=60),
        ],
        end=1000 + 10 * second,
    )
    adapted = load_adapted(folder, NAME)
    versions = adapted.frames.transactions.select(
        "transaction_id", "version", "kind", "status", "recorded_ns"
    )
    assert versions.rows() == [
        ("1", 0, "pending", "pending", 1000),
        ("1", 1, "void_pending", "archived", 1000 + 5 * second),
        ("2", 0, "pending", "pending", 2000),
    ]
    expired = json.loads(adapted.frames.transactions["metadata"][1])["tigerbeetle"]
    assert expired["expired"] is True
    assert "1 pending transfer(s) timed out" in " ".join(adapted.report.notes)


def test_posts_and_voids_become_versions_of_their_pending_transfer(tmp_path: Path) -> None:
    folder = _tiny(
        tmp_path,
        [
            _deposit("1", "500", 1000, PENDING),
            _deposit(
                "2",
                "200",
                1001,
                POST,
                pending_id="1",
                debit_account_id="0",
                credit_account_id="0",
                ledger=0,
            ),
            _deposit("3", "900", 1002, PENDING),
            _deposit("4", "0", 1003, VOID, pending_id="3"),
            _deposit("5", "40", 1004, PENDING),
            _deposit("6", str(2**128 - 1), 1005, POST, pending_id="5"),
        ],
    )
    adapted = load_adapted(folder, NAME)
    assert adapted.report.rejected == 0
    rows = adapted.frames.transactions.select(
        "transaction_id", "version", "kind", "status", "idempotency_key"
    )
    assert rows.rows() == [
        ("1", 0, "pending", "pending", "1"),
        ("1", 1, "post_pending", "posted", "2"),
        ("3", 0, "pending", "pending", "3"),
        ("3", 1, "void_pending", "archived", "4"),
        ("5", 0, "pending", "pending", "5"),
        ("5", 1, "post_pending", "posted", "6"),
    ]
    legs = adapted.frames.entries.filter(pl.col("version") == 1)
    assert legs.select("transaction_id", "account_id", "direction", "amount").rows() == [
        ("1", "20", "debit", 200),  # a partial post, accounts inherited from the pending
        ("1", "10", "credit", 200),
        ("3", "20", "debit", 900),  # a void of amount 0 archives the pending amount
        ("3", "10", "credit", 900),
        ("5", "20", "debit", 40),  # AMOUNT_MAX posts the whole pending amount
        ("5", "10", "credit", 40),
    ]
    assert _audit(adapted).findings.filter(pl.col("rule") != RuleId.BALANCE_DRIFT).height == 0


@pytest.mark.parametrize(("version", "posted"), [("0.15.3", 500), ("0.16.0", None)])
def test_a_post_of_amount_zero_follows_the_source_version(
    tmp_path: Path, version: str, posted: int | None
) -> None:
    folder = _tiny(
        tmp_path,
        [_deposit("1", "500", 1000, PENDING), _deposit("2", "0", 1001, POST, pending_id="1")],
        version=version,
    )
    adapted = load_adapted(folder, NAME)
    legs = adapted.frames.entries.filter(pl.col("version") == 1)["amount"].to_list()
    assert legs == ([] if posted is None else [posted, posted])


def test_resolutions_that_do_not_fit_their_pending_transfer_are_inconsistent(
    tmp_path: Path,
) -> None:
    second = 10**9
    folder = _tiny(
        tmp_path,
        [
            _deposit("1", "500", 1000, PENDING, timeout=1),
            _deposit("2", "500", 1000 + 2 * second, POST, pending_id="1"),
            _deposit("3", "100", 3 * second, POST, pending_id="99"),
            _deposit("4", "100", 4 * second, LINKED),
        ],
    )
    result = _audit(load_adapted(folder, NAME))
    found = result.findings.filter(pl.col("rule") == RuleId.SOURCE_INCONSISTENT)
    messages = sorted(found["message"].to_list())
    assert any("resolves pending transfer 1 after that expired" in m for m in messages)
    assert any("pending transfer 99 is not in the export" in m for m in messages)
    assert any("ends inside the linked chain that starts at transfer 4" in m for m in messages)
    assert found.height == 3


def test_account_flags_give_the_normal_balance_and_the_limit(tmp_path: Path) -> None:
    folder = _tiny(tmp_path, [_deposit("1", "5", 1000)])
    accounts = load_adapted(folder, NAME).frames.accounts
    assert accounts.select("account_id", "normal_balance", "allow_negative", "asset_id").rows() == [
        ("10", "credit", False, "USD/2"),
        ("20", "debit", True, "USD/2"),
    ]


# --- bad input ----------------------------------------------------------------------------


def test_a_missing_file_names_the_adapter_and_the_table(export: TigerBeetleExport) -> None:
    (export.folder / "transfers.jsonl").unlink()
    with pytest.raises(InputError) as raised:
        check_adapted(export.folder, NAME)
    text = str(raised.value)
    assert text.startswith(f"--adapter tigerbeetle: {export.folder}")
    assert "table 'transfers' is missing (expected one of transfers.csv, transfers.jsonl" in text


def test_a_missing_ledger_map_is_refused(export: TigerBeetleExport) -> None:
    (export.folder / "ledgers.toml").unlink()
    with pytest.raises(InputError, match=r"ledgers.toml is missing: TigerBeetle stores no asset"):
        check_adapted(export.folder, NAME)


def test_a_malformed_json_line_names_the_file_and_line(export: TigerBeetleExport) -> None:
    path = export.folder / "transfers.jsonl"
    lines = path.read_text().splitlines()
    lines[6] = lines[6][:-5]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as raised:
        load_adapted(export.folder, NAME)
    text = str(raised.value)
    assert text.startswith(f"--adapter tigerbeetle: {path}:7: malformed JSON line")
    assert "expected one JSON object per line" in text


def test_an_unknown_flag_bit_names_the_file_line_and_the_known_bits(
    export: TigerBeetleExport,
) -> None:
    def unknown(records: list[dict[str, Any]]) -> None:
        records[2]["flags"] = 512

    _edit(export, "transfers", unknown)
    with pytest.raises(InputError) as raised:
        load_adapted(export.folder, NAME)
    text = str(raised.value)
    assert text.startswith(f"--adapter tigerbeetle: {export.folder / 'transfers.jsonl'}:3")
    assert "transfer flags 512 set an unknown bit" in text
    assert "256 imported" in text


def test_a_csv_without_a_column_names_it(tmp_path: Path, demo_frames: LedgerFrames) -> None:
    export = write_tigerbeetle(demo_frames, tmp_path / "csv", fmt="csv")
    path = export.folder / "accounts.csv"
    frame = pl.read_csv(path, infer_schema=False).drop("credits_posted")
    frame.write_csv(path)
    with pytest.raises(InputError, match=r"column\(s\) credits_posted missing"):
        check_adapted(export.folder, NAME)


# --- u128 widths, exactly --------------------------------------------------------------------


@given(st.integers(min_value=0, max_value=2**130), st.integers(min_value=0, max_value=3))
def test_the_u128_width_check_agrees_with_python_integers(value: int, zeros: int) -> None:
    text = "0" * zeros + str(value)
    frame = fields.with_digits(pl.DataFrame({"v": [text]}), ("v",))
    problem = frame.select(fields.width_problem("v", fields.U128_MAX, "u128"))
    assert (problem.item() is None) == (value <= 2**128 - 1)


@given(
    st.lists(st.integers(min_value=1, max_value=10**15), min_size=1, max_size=5),
    st.lists(st.integers(min_value=1, max_value=10**15), min_size=1, max_size=5),
)
def test_pairing_legs_into_transfers_keeps_every_account_total(
    debit_amounts: list[int], credit_amounts: list[int]
) -> None:
    # Scale the credits so both sides move the same total (a balanced version, one asset).
    total = sum(debit_amounts)
    scaled = [c * total for c in credit_amounts]
    debits = [d * sum(credit_amounts) for d in debit_amounts]
    legs = [("debit", f"d{i}", a) for i, a in enumerate(debits)]
    legs += [("credit", f"c{i}", a) for i, a in enumerate(scaled)]
    entries = pl.DataFrame(
        {
            "transaction_id": ["t"] * len(legs),
            "version": [0] * len(legs),
            "entry_index": list(range(len(legs))),
            "account_id": [account for _, account, _ in legs],
            "asset_id": ["USD/2"] * len(legs),
            "direction": [direction for direction, _, _ in legs],
            "amount": pl.Series([Decimal(amount) for _, _, amount in legs], dtype=WIDE_AMOUNT),
        },
        schema_overrides={"version": pl.Int32},
    )
    pairs = pair_legs(entries)
    assert (pairs["amount"] > 0).all()
    assert pairs["k"].to_list() == list(range(pairs.height))
    for side, column in (("debit", "debit_account"), ("credit", "credit_account")):
        moved = pairs.group_by(column).agg(pl.col("amount").sum())
        got = {row[0]: int(row[1]) for row in moved.rows()}
        want = {account: amount for direction, account, amount in legs if direction == side}
        assert got == want


def test_a_transfer_between_one_account_or_without_flags_is_rejected(tmp_path: Path) -> None:
    folder = _tiny(
        tmp_path,
        [
            _deposit("1", "5", 1000, debit_account_id="10"),
            _deposit("2", "5", 1001) | {"flags": None},
            _deposit("3", "5", 1002),
        ],
    )
    adapted = load_adapted(folder, NAME)
    rejected = adapted.report.rejections.select("locator", "column", "reason").rows()
    assert rejected == [
        ("line 1", "credit_account_id", "same_account"),
        ("line 2", "flags", "null_not_allowed"),
    ]
    assert adapted.frames.transactions["transaction_id"].to_list() == ["3"]


def test_blank_lines_hold_no_record_and_do_not_shift_line_numbers(tmp_path: Path) -> None:
    folder = _tiny(tmp_path, [_deposit("1", "5", 1000), _deposit("2", "5", 1001, ledger=7)])
    path = folder / "transfers.jsonl"
    first, second = path.read_text().splitlines()
    path.write_text(f"\n{first}\n   \n{second}\n\n")
    adapted = load_adapted(folder, NAME)
    assert adapted.report.rejections.select("locator", "reason").rows() == [
        ("line 4", "unmapped_ledger")
    ]


def test_a_closed_account_is_closed_at_its_closing_transfer(tmp_path: Path) -> None:
    closing_debit = 64
    folder = _tiny(tmp_path, [_deposit("1", "0", 5000, PENDING | closing_debit)])
    accounts_path = folder / "accounts.jsonl"
    rows = _records(accounts_path)
    rows[1]["flags"] = 32  # bank (the debit account) closed
    rows[0]["flags"] = 2 | 32  # wallet closed too, with no closing transfer in the export
    _write(accounts_path, rows)
    adapted = load_adapted(folder, NAME)
    closed = dict(adapted.frames.accounts.select("account_id", "closed_ns").rows())
    assert closed == {"10": None, "20": 5000}
    assert "1 closed account(s) have no closing transfer" in " ".join(adapted.report.notes)
    assert adapted.frames.entries.height == 0  # a zero-amount transfer moves nothing


def test_a_second_resolution_and_an_account_given_twice_are_found(tmp_path: Path) -> None:
    folder = _tiny(
        tmp_path,
        [
            _deposit("1", "500", 1000, PENDING),
            _deposit("2", "500", 1001, POST, pending_id="1"),
            _deposit("3", "0", 1002, VOID, pending_id="1"),
        ],
    )
    accounts_path = folder / "accounts.jsonl"
    rows = _records(accounts_path)
    _write(accounts_path, [*rows, {**rows[0], "code": 9}])
    adapted = load_adapted(folder, NAME)
    versions = adapted.frames.transactions.select("transaction_id", "version", "kind").rows()
    assert versions == [("1", 0, "pending"), ("1", 1, "post_pending"), ("1", 2, "void_pending")]
    result = _audit(adapted)
    moves = result.findings.filter(pl.col("rule") == RuleId.STATUS_INVALID_MOVE)
    assert moves.select("transaction_id", "version").rows() == [("1", 2)]
    twice = result.findings.filter(pl.col("rule") == RuleId.SOURCE_INCONSISTENT)
    assert twice["account_id"].to_list() == ["10"]
    assert twice["actual"].to_list() == ["different code"]
