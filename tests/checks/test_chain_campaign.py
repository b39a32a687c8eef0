"""Tamper campaign: random sealed chains, random attacker edits, each found and classified.

Every trial copies a freshly sealed multi-ledger chain, makes one edit (or several far apart)
and checks that the verifier reports exactly the expected (rule, ledger, chain_seq,
transaction_id) and nothing else. Seeded, so a failure names its seed and edit.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from ledger_audit.findings import RuleId
from ledger_audit.schema import lach1
from tests.checks.chains import Chain, Expected, Row, found, random_chain, sealed_of

LEDGERS = {"alpha": 18, "beta": 14, "gamma": 9}
Edit = Callable[[Chain, random.Random, str, int], Expected]
Checkpoints = tuple[lach1.Checkpoint, ...]


def _tx(row: Row) -> str:
    return str(row["transaction_id"])


def _change_field(chain: Chain, rng: random.Random, row: Row) -> None:
    """Change one sealed field of ``row`` or of one of its entries to a different value."""
    legs = chain.legs_of(row)
    choice = rng.choice(
        (
            "amount",
            "account",
            "direction",
            "asset",
            "index",
            "drop_leg",
            "kind",
            "status",
            "idem",
            "external",
            "effective",
            "recorded",
            "pending",
            "reverses",
            "nasty",
        )
    )
    leg = rng.choice(legs)
    if choice == "amount":
        leg["amount"] = int(str(leg["amount"])) + rng.choice((-1, 1, 10**6))
    elif choice == "account":
        leg["account_id"] = f"{leg['account_id']}:x"
    elif choice == "direction":
        leg["direction"] = "credit" if leg["direction"] == "debit" else "debit"
    elif choice == "asset":
        leg["asset_id"] = "XAU/4"
    elif choice == "index":
        leg["entry_index"] = 100 + int(str(leg["entry_index"]))
    elif choice == "drop_leg":
        chain.legs.remove(leg)
    elif choice == "kind":
        row["kind"] = "adjustment" if row["kind"] != "adjustment" else "standard"
    elif choice == "status":
        row["status"] = "archived" if row["status"] != "archived" else "posted"
    elif choice == "idem":
        row["idempotency_key"] = None if row["idempotency_key"] is not None else ""
    elif choice == "external":
        row["external_id"] = "ext-é\u2028\x01" if row["external_id"] != "ext-é\u2028\x01" else None
    elif choice == "effective":
        row["effective_ns"] = int(str(row["effective_ns"])) - 1
    elif choice == "recorded":
        row["recorded_ns"] = int(str(row["recorded_ns"])) + 86_400 * 10**9
    elif choice == "pending":
        row["pending_transaction_id"] = (
            "tx-other" if row["pending_transaction_id"] is None else None
        )
    elif choice == "reverses":
        row["reverses_transaction_id"] = "" if row["reverses_transaction_id"] is None else None
    else:
        row["external_id"] = 'nasty "\\\t\x00 🙂'


def _pick(chain: Chain, rng: random.Random, ledger: str, *, last: int = 1) -> Row:
    """A row of ``ledger`` outside its last ``last`` rows (edits there need a checkpoint)."""
    rows = chain.ledger_rows(ledger)
    return rng.choice(rows[: len(rows) - last])


# --- the edits: each returns what the verifier must report ---------------------------------


def tamper(chain: Chain, rng: random.Random, ledger: str, _: int) -> Expected:
    row = rng.choice(chain.ledger_rows(ledger))
    _change_field(chain, rng, row)
    return {(RuleId.CHAIN_TAMPERED.value, ledger, int(str(row["chain_seq"])), _tx(row))}


def tamper_hash_column(chain: Chain, rng: random.Random, ledger: str, _: int) -> Expected:
    row = rng.choice(chain.ledger_rows(ledger))
    column = rng.choice(("chain_prev_hash", "content_hash", "chain_hash"))
    value = str(row[column])
    row[column] = value[:-1] + ("0" if value[-1] != "0" else "1")
    return {(RuleId.CHAIN_TAMPERED.value, ledger, int(str(row["chain_seq"])), _tx(row))}


def delete(chain: Chain, rng: random.Random, ledger: str, _: int) -> Expected:
    row = _pick(chain, rng, ledger)
    chain.delete(row)
    return {(RuleId.CHAIN_DELETED.value, ledger, int(str(row["chain_seq"])), None)}


def reseal(chain: Chain, rng: random.Random, ledger: str, _: int) -> Expected:
    row = _pick(chain, rng, ledger)
    _change_field(chain, rng, row)
    chain.reseal(row)
    return {(RuleId.CHAIN_RESEALED.value, ledger, int(str(row["chain_seq"])), _tx(row))}


def swap(chain: Chain, rng: random.Random, ledger: str, _: int) -> Expected:
    rows = chain.ledger_rows(ledger)
    i = rng.randrange(len(rows) - 1)
    j = i + 1 if rng.random() < 0.6 else rng.randrange(i + 1, len(rows))
    a, b = rows[i], rows[j]
    a["chain_seq"], b["chain_seq"] = b["chain_seq"], a["chain_seq"]
    return {(RuleId.CHAIN_REORDERED.value, ledger, i + 1, _tx(b))}


def _forged(chain: Chain, rng: random.Random, like: Row, seq: int) -> lach1.SealedVersion:
    base = sealed_of(like, chain.legs_of(like))
    return lach1.SealedVersion(
        base.ledger_id,
        seq,
        f"tx-forged-{rng.randrange(10**6)}",
        0,
        "standard",
        "posted",
        None,
        None,
        base.effective_ns,
        base.recorded_ns,
        None,
        None,
        base.entries,
    )


def insert(chain: Chain, rng: random.Random, ledger: str, _: int) -> Expected:
    rows = chain.ledger_rows(ledger)
    how = rng.choice(("fork", "copy", "orphan", "branch"))
    if how == "branch":  # appended after the head, but sealed after an older row
        k = rng.randrange(len(rows) - 1)
        seq = len(rows) + 1
        row = chain.add_row(_forged(chain, rng, rows[k], seq), str(rows[k]["chain_hash"]))
        return {(RuleId.CHAIN_INSERTED.value, ledger, seq, _tx(row))}
    i = rng.randrange(len(rows) - 1)  # not at the head: a fork there is a tie
    seq = i + 1
    if how == "copy":  # a copy under another id, hashes and all
        row = dict(rows[i])
        row["transaction_id"] = f"tx-copy-{rng.randrange(10**6)}"
        chain.rows.append(row)
        chain.legs.extend(
            {**e, "transaction_id": row["transaction_id"]} for e in chain.legs_of(rows[i])
        )
    else:
        prev = lach1.genesis(ledger) if i == 0 else str(rows[i - 1]["chain_hash"])
        if how == "orphan":
            prev = lach1.sha256_hex(f"nowhere {rng.random()}")
        row = chain.add_row(_forged(chain, rng, rows[i], seq), prev)
    return {(RuleId.CHAIN_INSERTED.value, ledger, seq, _tx(row))}


def unchain(chain: Chain, rng: random.Random, ledger: str, _: int) -> Expected:
    row = rng.choice(chain.ledger_rows(ledger))
    for column in rng.sample(
        ("chain_prev_hash", "content_hash", "chain_hash"), rng.randrange(1, 4)
    ):
        row[column] = None
    return {(RuleId.CHAIN_UNCHAINED.value, ledger, int(str(row["chain_seq"])), _tx(row))}


def regenesis(chain: Chain, _rng: random.Random, ledger: str, _: int) -> Expected:
    """The whole chain sealed again from another ledger's genesis."""
    rows = chain.ledger_rows(ledger)
    prev = lach1.genesis(f"{ledger}-old")
    for row in rows:
        chain.reseal(row, prev)
        prev = str(row["chain_hash"])
    return {(RuleId.CHAIN_GENESIS_MISMATCH.value, ledger, 1, _tx(rows[0]))}


SINGLE_EDITS: dict[str, Edit] = {
    "tamper": tamper,
    "tamper_hash_column": tamper_hash_column,
    "delete": delete,
    "reseal": reseal,
    "swap": swap,
    "insert": insert,
    "unchain": unchain,
    "regenesis": regenesis,
}


def _trial(seed: int) -> tuple[Chain, Expected, str]:
    rng = random.Random(seed)
    chain = random_chain(rng, LEDGERS, wide=seed % 5 == 0)
    name = rng.choice(sorted(SINGLE_EDITS))
    ledger = rng.choice(sorted(LEDGERS))
    expected = SINGLE_EDITS[name](chain, rng, ledger, seed)
    return chain, expected, name


@pytest.mark.parametrize("block", range(8))
def test_every_single_edit_is_found_and_classified(block: int) -> None:
    for seed in range(block * 30, block * 30 + 30):
        chain, expected, name = _trial(seed)
        assert found(chain.verify()) == expected, (seed, name)


def test_reference_path_agrees_on_the_campaign() -> None:
    for seed in range(1000, 1012):
        chain, expected, name = _trial(seed)
        fast, slow = chain.verify(), chain.verify(reference=True)
        assert fast.findings.equals(slow.findings), (seed, name)
        assert found(slow) == expected, (seed, name)


# --- checkpoints: truncation and rewritten history -----------------------------------------


@pytest.mark.parametrize("seed", range(40))
def test_truncated_tail_behind_a_checkpoint(seed: int) -> None:
    rng = random.Random(seed)
    chain = random_chain(rng, LEDGERS)
    ledger = rng.choice(sorted(LEDGERS))
    checkpoints = tuple(chain.checkpoint(lid) for lid in LEDGERS)
    rows = chain.ledger_rows(ledger)
    keep = rng.randrange(len(rows))
    for row in rows[keep:]:
        chain.delete(row)
    assert chain.verify().findings.height == 0  # invisible without the checkpoint
    assert found(chain.verify(checkpoints)) == {
        (RuleId.CHAIN_TRUNCATED.value, ledger, keep + 1, None)
    }


@pytest.mark.parametrize("seed", range(40))
def test_rewritten_prefix_resealed_to_the_head(seed: int) -> None:
    rng = random.Random(seed)
    chain = random_chain(rng, LEDGERS)
    ledger = rng.choice(sorted(LEDGERS))
    rows = chain.ledger_rows(ledger)
    k = rng.randrange(1, len(rows) + 1)  # the earlier audit saw seq 1..k
    earlier = Chain(
        chain.ledgers,
        [r for r in chain.rows if r["ledger_id"] != ledger or int(str(r["chain_seq"])) <= k],
        chain.legs,
    )
    checkpoints = tuple(earlier.checkpoint(lid) for lid in LEDGERS)
    j = rng.randrange(1, k + 1)
    _change_field(chain, rng, chain.at(ledger, j))
    chain.reseal_from(ledger, j)
    assert chain.verify().findings.height == 0  # a consistent forgery, without checkpoint
    at_k = chain.at(ledger, k)
    assert found(chain.verify(checkpoints)) == {
        (RuleId.CHAIN_REWRITTEN.value, ledger, k, _tx(at_k))
    }


def test_clean_chains_extend_their_own_checkpoints() -> None:
    for seed in range(20):
        rng = random.Random(seed)
        chain = random_chain(rng, LEDGERS)
        report = chain.verify()
        checkpoints = tuple(c.checkpoint for c in report.ledgers if c.checkpoint is not None)
        chain.append(_more(rng, chain, "alpha"))
        again = chain.verify(checkpoints)
        assert again.findings.height == 0
        assert all(c.intact for c in again.ledgers)


def _more(rng: random.Random, chain: Chain, ledger: str) -> list[lach1.SealedVersion]:
    from tests.checks.chains import random_versions

    head = chain.head_row(ledger)
    assert head is not None
    return random_versions(rng, ledger, 3, first_seq=int(str(head["chain_seq"])) + 1)


# --- several edits far apart in one chain ---------------------------------------------------

SPREAD_EDITS = ("tamper", "delete", "reseal", "swap", "fork", "hash")


@pytest.mark.parametrize("seed", range(30))
def test_several_edits_far_apart(seed: int) -> None:
    rng = random.Random(seed)
    chain = random_chain(rng, {"big": 60, "side": 8})
    rows = chain.ledger_rows("big")
    expected: Expected = set()
    # Slots of 6 seqs; each edit touches only its slot (a swap at most seqs s and s+1, a
    # deletion or re-seal leaves the next row dangling, which is inside the slot).
    slots = rng.sample(range(9), rng.randrange(2, 7))
    for slot in slots:
        s = slot * 6 + 2  # 1-based seq inside the slot, with room before and after
        row = rows[s - 1]
        kind = rng.choice(SPREAD_EDITS)
        if kind == "tamper":
            _change_field(chain, rng, row)
            expected.add((RuleId.CHAIN_TAMPERED.value, "big", s, _tx(row)))
        elif kind == "hash":
            row["content_hash"] = "0" * 64
            expected.add((RuleId.CHAIN_TAMPERED.value, "big", s, _tx(row)))
        elif kind == "delete":
            chain.delete(row)
            expected.add((RuleId.CHAIN_DELETED.value, "big", s, None))
        elif kind == "reseal":
            _change_field(chain, rng, row)
            chain.reseal(row)
            expected.add((RuleId.CHAIN_RESEALED.value, "big", s, _tx(row)))
        elif kind == "swap":
            other = rows[s]
            row["chain_seq"], other["chain_seq"] = other["chain_seq"], row["chain_seq"]
            expected.add((RuleId.CHAIN_REORDERED.value, "big", s, _tx(other)))
        else:
            forged = chain.add_row(_forged(chain, rng, row, s), str(rows[s - 2]["chain_hash"]))
            expected.add((RuleId.CHAIN_INSERTED.value, "big", s, _tx(forged)))
    report = chain.verify()
    assert found(report) == expected, (seed, slots)
    assert report.ledger("side").intact
    assert report.ledger("big").first_broken_seq == min(
        seq for _, _, seq, _ in expected if seq is not None
    )
