"""Planted anomalies: each is where the answer key says, and a small independent auditor
written here finds exactly the key, rule by rule, and nothing else."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from ledger_audit.demo.jet_plant import JET_KEY_FILE
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.findings import RuleId
from tests.demo.conftest import balance_differences, connect, rehash

Key = list[dict[str, object]]
DAY = 86_400 * 10**9


@dataclass(frozen=True)
class Version:
    seq: int
    transaction_id: str
    version: int
    kind: str
    status: str
    reverses: str | None
    effective_ns: int
    recorded_ns: int
    idempotency_key: str | None
    external_id: str | None
    legs: tuple[tuple[str, str, str, int], ...]  # account, asset, direction, amount


def read_versions(summary: DemoSummary) -> list[Version]:
    with connect(summary.ledger_path) as conn:
        legs: dict[tuple[str, int], list[tuple[str, str, str, int]]] = defaultdict(list)
        for tx, version, account, asset, direction, amount in conn.execute(
            "SELECT transaction_id, version, account_id, asset_id, direction, amount "
            "FROM entries ORDER BY transaction_id, version, entry_index"
        ):
            legs[(tx, version)].append((account, asset, direction, amount))
        return [
            Version(seq, tx, v, kind, status, rev, eff, rec, idem, ext, tuple(legs[(tx, v)]))
            for seq, tx, v, kind, status, rev, eff, rec, idem, ext in conn.execute(
                "SELECT chain_seq, transaction_id, version, kind, status, "
                "reverses_transaction_id, effective_ns, recorded_ns, idempotency_key, "
                "external_id FROM transactions ORDER BY chain_seq"
            )
        ]


def by_rule(key: Key) -> dict[str, dict[str, object]]:
    rules = [str(item["rule"]) for item in key]
    assert len(rules) == len(set(rules))
    return {str(item["rule"]): item for item in key}


def seq_of(item: dict[str, object], field: str = "chain_seq") -> int:
    value = item[field]
    assert isinstance(value, int)
    return value


@pytest.fixture(scope="module")
def versions(planted_demo: DemoSummary) -> list[Version]:
    return read_versions(planted_demo)


# --- the key itself -----------------------------------------------------------------------


def test_key_has_one_entry_per_planted_rule_in_order(answer_key: Key) -> None:
    assert {item["rule"] for item in answer_key} == {
        RuleId.IDEMPOTENCY_CONFLICT,
        RuleId.REVERSAL_NOT_INVERSE,
        RuleId.PERIOD_BACKDATED,
        RuleId.BALANCE_NEGATIVE,
        RuleId.PAYMENT_DUPLICATE_SUSPECTED,
        RuleId.CHAIN_TAMPERED,
        RuleId.CHAIN_DELETED,
        RuleId.CHAIN_REORDERED,
        RuleId.CHAIN_RESEALED,
        RuleId.BALANCE_DRIFT,
    }
    order = [(str(i["rule"]), -1 if i["chain_seq"] is None else seq_of(i)) for i in answer_key]
    assert order == sorted(order)
    for item in answer_key:
        assert {"rule", "ledger_id", "transaction_id", "version", "chain_seq", "description"} <= (
            item.keys()
        )
        assert item["ledger_id"] == "demo"
        assert "\n" not in str(item["description"])


def test_key_points_at_rows_that_exist(planted_demo: DemoSummary, answer_key: Key) -> None:
    with connect(planted_demo.ledger_path) as conn:
        by_seq = {
            seq: (tx, version)
            for seq, tx, version in conn.execute(
                "SELECT chain_seq, transaction_id, version FROM transactions"
            )
        }
        ids = {tx for tx, _ in by_seq.values()}
        cached = {(a, s) for a, s in conn.execute("SELECT account_id, asset_id FROM balances")}
    head = max(by_seq)
    for item in answer_key:
        if item["rule"] == RuleId.CHAIN_DELETED:
            assert item["transaction_id"] not in ids
            assert seq_of(item) not in by_seq
            assert 1 < seq_of(item) < head
        elif item["transaction_id"] is not None:
            assert by_seq[seq_of(item)] == (item["transaction_id"], item["version"])
        else:
            assert item["rule"] == RuleId.BALANCE_DRIFT
            assert (item["account_id"], item["asset_id"]) in cached
        if "other_transaction_id" in item:
            assert by_seq[seq_of(item, "other_chain_seq")][0] == item["other_transaction_id"]


def test_each_anomaly_has_its_own_wallet(answer_key: Key) -> None:
    wallets = [i["account_id"] for i in answer_key if "account_id" in i]
    assert len(wallets) == len(set(wallets))


def test_append_only_guard_is_back(planted_demo: DemoSummary) -> None:
    conn = sqlite3.connect(planted_demo.ledger_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE entries SET amount = amount + 1")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM transactions")
    finally:
        conn.rollback()
        conn.close()


# --- an independent auditor: each rule finds exactly its key entry ---------------------------


def test_chain_breaks_are_exactly_the_chain_anomalies(
    planted_demo: DemoSummary, answer_key: Key
) -> None:
    key = by_rule(answer_key)
    tampered = seq_of(key[RuleId.CHAIN_TAMPERED])
    deleted = seq_of(key[RuleId.CHAIN_DELETED])
    swapped = seq_of(key[RuleId.CHAIN_REORDERED])
    assert seq_of(key[RuleId.CHAIN_REORDERED], "other_chain_seq") == swapped + 1
    resealed = seq_of(key[RuleId.CHAIN_RESEALED])
    successor = seq_of(key[RuleId.CHAIN_RESEALED], "other_chain_seq")
    assert successor == resealed + 1

    report = rehash(planted_demo.ledger_path)
    assert report.content == {tampered, swapped, swapped + 1}
    assert report.self_link == set()  # every stored link is self-consistent, even re-sealed
    assert report.gaps == {deleted}
    # The re-sealed row's successor still points at the old hash; the swapped pair breaks
    # the links into, inside and out of it.
    assert report.prev_link == {successor, swapped, swapped + 1, swapped + 2}


def test_planted_demo_differs_from_clean_only_by_the_anomalies(
    clean_demo: DemoSummary, planted_demo: DemoSummary, answer_key: Key
) -> None:
    """The month itself is the same: planting only appends, edits and deletes."""
    clean = {(v.transaction_id, v.version): v for v in read_versions(clean_demo)}
    planted = {(v.transaction_id, v.version): v for v in read_versions(planted_demo)}
    key = by_rule(answer_key)
    deleted = (key[RuleId.CHAIN_DELETED]["transaction_id"], 0)
    assert set(clean) - set(planted) == {deleted}
    appended = {
        (str(key[rule]["transaction_id"]), 0)
        for rule in (
            RuleId.IDEMPOTENCY_CONFLICT,
            RuleId.REVERSAL_NOT_INVERSE,
            RuleId.PERIOD_BACKDATED,
            RuleId.BALANCE_NEGATIVE,
            RuleId.PAYMENT_DUPLICATE_SUSPECTED,
        )
    } | {(str(key[RuleId.PAYMENT_DUPLICATE_SUSPECTED]["other_transaction_id"]), 0)}
    jet = json.loads((planted_demo.out_dir / JET_KEY_FILE).read_text(encoding="utf-8"))
    red_flags = {(str(item["transaction_id"]), 0) for item in jet}
    accrual = {
        (str(v.reverses), 0)
        for v in read_versions(planted_demo)
        if v.reverses and (v.transaction_id, 0) in red_flags
    }
    # the JET red flags (one names the backdated row) and the accrual their reversal undoes
    assert set(planted) - set(clean) == appended | red_flags | accrual
    edited = {k for k in set(clean) & set(planted) if clean[k] != planted[k]}
    assert edited == {
        (str(key[rule][field]), 0)
        for rule, field in (
            (RuleId.CHAIN_TAMPERED, "transaction_id"),
            (RuleId.CHAIN_RESEALED, "transaction_id"),
            (RuleId.CHAIN_REORDERED, "transaction_id"),
            (RuleId.CHAIN_REORDERED, "other_transaction_id"),
        )
    }


def test_only_one_cached_balance_drifts(planted_demo: DemoSummary, answer_key: Key) -> None:
    drift = by_rule(answer_key)[RuleId.BALANCE_DRIFT]
    differences = balance_differences(planted_demo.ledger_path)
    assert set(differences) == {(drift["account_id"], drift["asset_id"])}
    ((cached, fresh),) = differences.values()
    assert cached[0] == fresh[0]
    assert cached[2:] == fresh[2:]
    assert 0 < fresh[1] - cached[1] < fresh[1] - fresh[0]  # lowered, still not negative


def test_idempotency_conflicts(versions: Sequence[Version], answer_key: Key) -> None:
    first_use: dict[str, str] = {}
    conflicts = []
    for v in versions:
        if v.idempotency_key is None:
            continue
        owner = first_use.setdefault(v.idempotency_key, v.transaction_id)
        if owner != v.transaction_id:
            conflicts.append((v.transaction_id, v.seq, owner))
    item = by_rule(answer_key)[RuleId.IDEMPOTENCY_CONFLICT]
    assert conflicts == [(item["transaction_id"], item["chain_seq"], item["other_transaction_id"])]


def test_suspected_duplicate_payments(versions: Sequence[Version], answer_key: Key) -> None:
    """Same external id, or the same legs within a day, on two new transactions."""
    tops = [v for v in versions if v.version == 0]
    externals = Counter(v.external_id for v in tops if v.external_id is not None)
    repeated = {e for e, n in externals.items() if n > 1}
    recent: dict[tuple[tuple[str, str, str, int], ...], Version] = {}
    near_twins = []
    for v in sorted(tops, key=lambda v: v.recorded_ns):
        legs = tuple(sorted(v.legs))
        earlier = recent.get(legs)
        if earlier is not None and v.recorded_ns - earlier.recorded_ns < DAY:
            near_twins.append((v.transaction_id, earlier.transaction_id))
        recent[legs] = v
    item = by_rule(answer_key)[RuleId.PAYMENT_DUPLICATE_SUSPECTED]
    pair = (item["transaction_id"], item["other_transaction_id"])
    assert near_twins == [pair]
    assert [(v.transaction_id, v.seq) for v in tops if v.external_id in repeated] == [
        (pair[1], item["other_chain_seq"]),
        (pair[0], item["chain_seq"]),
    ]


def test_reversals_that_are_not_inverses(versions: Sequence[Version], answer_key: Key) -> None:
    latest = {v.transaction_id: v for v in versions}  # chain order: the last version wins
    flip = {"debit": "credit", "credit": "debit"}
    wrong = []
    reversed_ids = Counter(v.reverses for v in versions if v.reverses is not None)
    assert max(reversed_ids.values()) == 1
    for v in versions:
        if v.kind != "reversal":
            continue
        original = latest[str(v.reverses)]
        inverse = sorted((a, s, flip[d], n) for a, s, d, n in original.legs)
        if sorted(v.legs) != inverse:
            wrong.append((v.transaction_id, original.transaction_id))
    item = by_rule(answer_key)[RuleId.REVERSAL_NOT_INVERSE]
    assert wrong == [(item["transaction_id"], item["other_transaction_id"])]


def test_backdated_into_the_closed_period(
    planted_demo: DemoSummary, versions: Sequence[Version], answer_key: Key
) -> None:
    with connect(planted_demo.ledger_path) as conn:
        (meta,) = conn.execute("SELECT metadata FROM ledgers").fetchone()
    closed = json.loads(meta)["closed_through_ns"]
    late = [v.transaction_id for v in versions if v.effective_ns <= closed < v.recorded_ns]
    assert late == [by_rule(answer_key)[RuleId.PERIOD_BACKDATED]["transaction_id"]]


def test_no_negative_wallet_but_the_planted_one(
    planted_demo: DemoSummary, versions: Sequence[Version], answer_key: Key
) -> None:
    """Replay in chain order; a new version replaces its transaction's previous one."""
    with connect(planted_demo.ledger_path) as conn:
        guarded = {
            a for (a,) in conn.execute("SELECT account_id FROM accounts WHERE allow_negative = 0")
        }
    posted: Counter[tuple[str, str]] = Counter()  # credit-normal wallets: credits - debits
    held: Counter[tuple[str, str]] = Counter()  # pending debits
    previous: dict[str, Version] = {}
    negative = []

    def apply(v: Version, sign: int) -> None:
        for account, asset, direction, amount in v.legs:
            if v.status == "posted":
                posted[(account, asset)] += sign * (amount if direction == "credit" else -amount)
            elif v.status == "pending" and direction == "debit":
                held[(account, asset)] += sign * amount

    for v in versions:
        if v.transaction_id in previous:
            apply(previous[v.transaction_id], -1)
        apply(v, +1)
        previous[v.transaction_id] = v
        for account, asset, _, _ in v.legs:
            if account in guarded and posted[(account, asset)] - held[(account, asset)] < 0:
                negative.append((account, v.seq))
    item = by_rule(answer_key)[RuleId.BALANCE_NEGATIVE]
    assert negative == [(item["account_id"], item["chain_seq"])]
    assert item["chain_seq"] == versions[-1].seq  # nothing comes after it


def test_every_version_balances_per_asset(versions: Sequence[Version]) -> None:
    for v in versions:
        sums: Counter[str] = Counter()
        for _, asset, direction, amount in v.legs:
            assert amount > 0
            sums[asset] += amount if direction == "debit" else -amount
        assert not any(sums.values()), v


def test_status_moves_are_legal(versions: Sequence[Version]) -> None:
    history: dict[str, list[Version]] = defaultdict(list)
    for v in versions:
        history[v.transaction_id].append(v)
    for chain in history.values():
        chain.sort(key=lambda v: v.version)
        statuses = [v.status for v in chain]
        assert [v.version for v in chain] == list(range(len(chain)))
        assert statuses in (["posted"], ["pending"], ["pending", "posted"], ["pending", "archived"])
