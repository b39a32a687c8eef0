"""LACH-1 chain verification: vectors, vectorised == lach1, one reproducer per rule, the demo."""

from __future__ import annotations

import dataclasses
import json

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.checks.chain import check_chain, checkpoint_of, verify_chain
from ledger_audit.checks.chain_hashes import (
    content_hashes,
    link_hashes,
    meta_hashes,
    payloads,
    reference_content_hashes,
    reference_link_hashes,
    reference_meta_hashes,
    reference_payloads,
)
from ledger_audit.findings import RuleId
from ledger_audit.schema import lach1
from ledger_audit.schema.frames import ENTRIES, TRANSACTIONS, WIDE_AMOUNT
from ledger_audit.schema.times import iso_to_ns
from ledger_audit.sources import load_ledger
from ledger_audit.spec import VerifySpec
from tests.checks.chains import Chain, Row, found, version_row
from tests.conftest import DemoFactory

# --- DESIGN.md section 4 test vectors -------------------------------------------------------


def _vector(
    seq: int,
    tx: str,
    kind: str,
    status: str,
    at: str,
    idem: str | None,
    ext: str | None,
    pending: str | None,
    legs: list[tuple[str, str, int]],
) -> lach1.SealedVersion:
    ns = iso_to_ns(at)
    return lach1.SealedVersion(
        "demo",
        seq,
        tx,
        0,
        kind,
        status,
        pending,
        None,
        ns,
        ns,
        idem,
        ext,
        tuple(lach1.SealedEntry(i, a, "USD/2", d, n) for i, (a, d, n) in enumerate(legs)),
    )


VECTORS = [
    _vector(
        1,
        "tx-0001",
        "standard",
        "posted",
        "2025-01-31T12:00:00.000000000Z",
        "ik-1",
        None,
        None,
        [("assets:bank", "debit", 10000), ("liabilities:wallet:alice", "credit", 10000)],
    ),
    _vector(
        2,
        "tx-0002",
        "pending",
        "pending",
        "2025-01-31T12:05:00.123456789Z",
        None,
        "card-auth-77",
        None,
        [("liabilities:wallet:alice", "debit", 2500), ("liabilities:card:holds", "credit", 2500)],
    ),
    _vector(
        3,
        "tx-0003",
        "post_pending",
        "posted",
        "2025-02-01T09:00:00.000000000Z",
        None,
        "card-auth-77",
        "tx-0002",
        [("liabilities:card:holds", "debit", 2000), ("revenue:merchant", "credit", 2000)],
    ),
]
CONTENT = [
    "d44cd7f7516484f50d00bc54e953bea3659bc02563d370938411729b0694c64f",
    "1ff4d6860de56bdb3c0e1f4b3783672a4ac914a1672ffe50357aadd619c8710c",
    "152ff05f6bdddffe0ca23a7a97189af066fad4b86893a9c6e746b0bd6205ac03",
]
LINKS = [
    "e7a8da8062ab3f23a8f3419f1ed05555dccaef123d5d6b582e3b1d5975caab96",
    "b06333a6a9b73b2a53d3c635e142e868acfbb32b5df7dd4f5f7dbb45762a86d4",
    "4e2ebdf49c66928b0a62e48e1c269a6a6fd141774d643b7b8cc79cb68111cec3",
]
GENESIS = "6253ef4548c1c89753952f65f1a00979d66e6c5335adc87c503dc1d397dd7dc1"


def vector_chain() -> Chain:
    chain = Chain()
    chain.add_ledger("demo")
    chain.append(VECTORS)
    return chain


@pytest.mark.parametrize("reference", [False, True])
def test_design_vectors(reference: bool) -> None:
    chain = vector_chain()
    transactions, entries, _ = chain.frames()
    contents = (reference_content_hashes if reference else content_hashes)(transactions, entries)
    links = (reference_link_hashes if reference else link_hashes)(
        transactions["chain_prev_hash"], contents
    )
    assert transactions["chain_prev_hash"][0] == GENESIS
    assert contents.to_list() == CONTENT
    assert links.to_list() == LINKS
    for leg in chain.legs[:2]:
        leg["amount"] = 10001
    transactions, entries, _ = chain.frames()
    assert content_hashes(transactions, entries)[0] == (
        "95fde954749db5beb223f2c7bf2b406389a46452cee3e272cccaff7b6ce712d1"
    )
    report = vector_chain().verify()
    assert report.findings.height == 0
    assert report.ledger("demo").stored_head == (3, LINKS[2])
    assert report.ledger("demo").recomputed_head == (3, LINKS[2])
    assert checkpoint_of(report) == (lach1.Checkpoint("demo", 3, LINKS[2], 3),)


# --- vectorised == lach1, byte for byte -----------------------------------------------------

NASTY = st.sampled_from(
    [
        '"',
        "\\",
        '\\"',
        "\x00",
        "\x1f",
        "\x7f",
        "\b\f\n\r\t",
        "é",
        "🙂",
        "\u2028",
        "",
        " ",
        "null",
        '{"a":1}',
        "\ud7ff",
        "\ue000",
        "a\x0bb",
    ]
)
TEXT = st.one_of(st.text(max_size=8), NASTY, st.lists(NASTY, max_size=4).map("".join))
MAYBE = st.one_of(st.none(), TEXT)
INT64 = st.integers(-(2**63), 2**63 - 1)
WIDE = st.integers(-(10**38) + 1, 10**38 - 1)


@st.composite
def versions(draw: st.DrawFn, *, wide: bool) -> lach1.SealedVersion:
    indices = draw(st.lists(st.integers(0, 2**31 - 1), max_size=4, unique=True))
    return lach1.SealedVersion(
        ledger_id=draw(TEXT),
        seq=draw(st.integers(1, 2**62)),
        transaction_id=draw(TEXT),
        version=draw(st.integers(0, 2**31 - 1)),
        kind=draw(TEXT),
        status=draw(TEXT),
        pending_transaction_id=draw(MAYBE),
        reverses_transaction_id=draw(MAYBE),
        effective_ns=draw(INT64),
        recorded_ns=draw(INT64),
        idempotency_key=draw(MAYBE),
        external_id=draw(MAYBE),
        entries=tuple(
            lach1.SealedEntry(i, draw(TEXT), draw(TEXT), draw(TEXT), draw(WIDE if wide else INT64))
            for i in indices
        ),
    )


def _frames(rows: list[lach1.SealedVersion], *, wide: bool) -> tuple[pl.DataFrame, pl.DataFrame]:
    tx: list[Row] = []
    legs: list[Row] = []
    for n, version in enumerate(rows):
        # Distinct keys, so that each row's entries are its own.
        keyed = lach1.SealedVersion(
            version.ledger_id,
            version.seq,
            f"{version.transaction_id}#{n}",
            version.version,
            version.kind,
            version.status,
            version.pending_transaction_id,
            version.reverses_transaction_id,
            version.effective_ns,
            version.recorded_ns,
            version.idempotency_key,
            version.external_id,
            version.entries,
        )
        row, entries = version_row(keyed, "p" * 64, "c" * 64, "h" * 64)
        tx.append(row)
        legs.extend(reversed(entries))  # stored out of index order on purpose
    schema = {**ENTRIES, "amount": WIDE_AMOUNT} if wide else ENTRIES
    return (
        pl.DataFrame(tx, schema=TRANSACTIONS, orient="row"),
        pl.DataFrame(legs, schema=schema, orient="row"),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.booleans().flatmap(
        lambda w: st.tuples(st.just(w), st.lists(versions(wide=w), min_size=1, max_size=6))
    )
)
def test_vectorised_payloads_and_hashes_equal_lach1(
    case: tuple[bool, list[lach1.SealedVersion]],
) -> None:
    wide, rows = case
    transactions, entries = _frames(rows, wide=wide)
    assert payloads(transactions, entries).to_list() == reference_payloads(transactions, entries)
    fast = content_hashes(transactions, entries)
    assert fast.to_list() == reference_content_hashes(transactions, entries).to_list()
    prev = transactions["transaction_id"]  # any text works as a prev
    assert link_hashes(prev, fast).to_list() == reference_link_hashes(prev, fast).to_list()


@settings(deadline=None)  # no timed assertion: the machine is shared
@given(st.lists(st.tuples(MAYBE, MAYBE), max_size=8))
def test_vectorised_meta_hashes_equal_lach1(rows: list[tuple[str | None, str | None]]) -> None:
    frame = pl.DataFrame(
        rows, schema={"description": pl.String(), "metadata": pl.String()}, orient="row"
    )
    fast = meta_hashes(frame).to_list()
    assert fast == reference_meta_hashes(frame).to_list()
    assert fast == [lach1.meta_hash(d, m) for d, m in rows]


def test_meta_hash_of_the_writer() -> None:
    """The demo's opening rows: ``{"description":...,"metadata":...}`` as the writer sealed it."""
    frame = pl.DataFrame({"description": ["Opening balance"], "metadata": ['{"event": "opening"}']})
    assert meta_hashes(frame).to_list() == [
        "b97a6f1655f34983897e7ee3a9dea9f57d5535075519ac5fd6f342323b91bd03"
    ]


def test_null_sealed_integer_has_no_content() -> None:
    transactions, entries = _frames([VECTORS[0]], wide=False)
    transactions = transactions.with_columns(pl.lit(None, pl.Int64()).alias("effective_ns"))
    assert content_hashes(transactions, entries).to_list() == [None]
    assert reference_content_hashes(transactions, entries).to_list() == [None]


def test_null_and_empty_text_differ() -> None:
    base = VECTORS[0]
    empty = dataclasses.replace(base, idempotency_key="")
    assert base.idempotency_key is not None
    base = dataclasses.replace(base, idempotency_key=None)
    transactions, entries = _frames([base, empty], wide=False)
    first, second = content_hashes(transactions, entries).to_list()
    assert first != second


# --- one minimal reproducer per rule ------------------------------------------------------


def small_chain(rows: int = 5) -> Chain:
    """Ledger ``L``: ``rows`` posted one-leg-pair transactions tx-1, tx-2, ..."""
    chain = Chain()
    chain.add_ledger("L")
    chain.append(
        [
            lach1.SealedVersion(
                "L",
                n,
                f"tx-{n}",
                0,
                "standard",
                "posted",
                None,
                None,
                n * 10**9,
                n * 10**9,
                f"ik-{n}",
                None,
                (
                    lach1.SealedEntry(0, "cash", "USD/2", "debit", 100 * n),
                    lach1.SealedEntry(1, "sales", "USD/2", "credit", 100 * n),
                ),
            )
            for n in range(1, rows + 1)
        ]
    )
    return chain


def only(chain: Chain, checkpoints: tuple[lach1.Checkpoint, ...] = ()) -> dict[str, object]:
    findings = chain.verify(checkpoints).findings
    assert findings.height == 1, findings
    return findings.row(0, named=True)


def h(row: Row, column: str) -> str:
    return str(row[column])[:12]


def test_tampered() -> None:
    chain = small_chain()
    row = chain.at("L", 3)
    chain.legs_of(row)[0]["amount"] = 301
    finding = only(chain)
    calc = lach1.content_hash(
        lach1.SealedVersion(
            "L",
            3,
            "tx-3",
            0,
            "standard",
            "posted",
            None,
            None,
            3 * 10**9,
            3 * 10**9,
            "ik-3",
            None,
            (
                lach1.SealedEntry(0, "cash", "USD/2", "debit", 301),
                lach1.SealedEntry(1, "sales", "USD/2", "credit", 300),
            ),
        )
    )
    assert (finding["rule"], finding["severity"], finding["chain_seq"]) == (
        "chain.tampered",
        "critical",
        3,
    )
    assert (
        finding["locator"]
        == "transactions(ledger_id=L, transaction_id=tx-3, version=0, chain_seq=3)"
    )
    assert finding["message"] == (
        f"tx-3 v0: sealed fields changed after sealing: content recomputes to {calc[:12]}, "
        f"content_hash is {h(row, 'content_hash')}"
    )
    assert (finding["expected"], finding["actual"]) == (calc, row["content_hash"])


def test_tampered_hash_column() -> None:
    chain = small_chain()
    row = chain.at("L", 2)
    old = str(row["chain_hash"])
    row["chain_hash"] = "f" * 64
    finding = only(chain)
    assert finding["message"] == (
        f"tx-2 v0: chain_hash ffffffffffff does not link its chain_prev_hash and content_hash "
        f"(expected {old[:12]}): a hash column was edited"
    )


def test_resealed() -> None:
    chain = small_chain()
    row = chain.at("L", 2)
    old = str(row["chain_hash"])
    row["kind"] = "adjustment"
    chain.reseal(row)
    finding = only(chain)
    assert (finding["rule"], finding["chain_seq"], finding["transaction_id"]) == (
        "chain.resealed",
        2,
        "tx-2",
    )
    assert finding["message"] == (
        f"tx-2 v0 at seq 2 was re-hashed: its hashes fit its fields, but seq 3 (tx-3 v0) links "
        f"to {old[:12]}, a hash no row has"
    )


def test_deleted() -> None:
    chain = small_chain()
    chain.delete(chain.at("L", 3))
    finding = only(chain)
    assert (finding["rule"], finding["chain_seq"], finding["transaction_id"]) == (
        "chain.deleted",
        3,
        None,
    )
    assert finding["message"] == (
        "seq 3 is missing: the next row, seq 4 (tx-4 v0), links to a hash no row has"
    )


def test_deleted_run_gives_one_finding_per_seq() -> None:
    chain = small_chain(6)
    for seq in (2, 3, 4):
        chain.delete(chain.at("L", seq))
    findings = chain.verify().findings
    assert findings["chain_seq"].to_list() == [2, 3, 4]
    assert set(findings["rule"]) == {"chain.deleted"}


def test_skipped_seq_is_reported_as_deleted_and_says_so() -> None:
    chain = small_chain(2)
    chain.at("L", 2)["chain_seq"] = 3
    chain.reseal(chain.at("L", 3))
    assert only(chain)["message"] == (
        "seq 2 is missing: the next row, seq 3 (tx-2 v0), links straight to seq 1 "
        "(a seq skipped when sealing)"
    )


def test_reordered() -> None:
    chain = small_chain()
    a, b = chain.at("L", 2), chain.at("L", 3)
    a["chain_seq"], b["chain_seq"] = 3, 2
    finding = only(chain)
    assert (finding["rule"], finding["chain_seq"], finding["transaction_id"]) == (
        "chain.reordered",
        2,
        "tx-3",
    )
    assert finding["message"] == (
        "tx-3 v0 at seq 2 and tx-2 v0 at seq 3 are in each other's place: each one's content "
        "was sealed at the other's seq, and both fit once swapped back"
    )


def test_rotation_of_three_is_one_reordering() -> None:
    chain = small_chain(6)
    a, b, c = (chain.at("L", s) for s in (2, 3, 4))
    a["chain_seq"], b["chain_seq"], c["chain_seq"] = 3, 4, 2
    finding = only(chain)
    assert (finding["rule"], finding["chain_seq"], finding["transaction_id"]) == (
        "chain.reordered",
        2,
        "tx-4",
    )
    assert finding["message"] == (
        "tx-4 v0 at seq 2 and the rows at seq 3, 4 are out of sealed order: each one's content "
        "was sealed at another's seq, and they all fit once put back"
    )


def test_edited_seq_into_a_free_place_is_tampered() -> None:
    chain = small_chain()
    chain.at("L", 5)["chain_seq"] = 9
    finding = only(chain)
    assert finding["message"] == (
        "tx-5 v0: chain_seq changed from 5 to 9: its sealed content matches seq 5"
    )


def test_inserted_duplicate_seq() -> None:
    chain = small_chain()
    forged = lach1.SealedVersion(
        "L", 3, "tx-x", 0, "standard", "posted", None, None, 1, 1, None, None, ()
    )
    chain.add_row(forged, str(chain.at("L", 2)["chain_hash"]))
    finding = only(chain)
    assert (finding["rule"], finding["chain_seq"], finding["transaction_id"]) == (
        "chain.inserted",
        3,
        "tx-x",
    )
    assert finding["message"] == "tx-x v0 is a second row at seq 3: the chain runs through tx-3 v0"


def test_inserted_fork() -> None:
    chain = small_chain()
    forged = lach1.SealedVersion(
        "L", 6, "tx-x", 0, "standard", "posted", None, None, 1, 1, None, None, ()
    )
    chain.add_row(forged, str(chain.at("L", 2)["chain_hash"]))
    assert only(chain)["message"] == (
        "tx-x v0 at seq 6 links to seq 2, not to seq 5: it was inserted (a fork)"
    )


def test_genesis_mismatch() -> None:
    chain = small_chain()
    chain.reseal_from("L", 1)
    for row in chain.ledger_rows("L"):
        chain.reseal(row, lach1.genesis("M") if row["chain_seq"] == 1 else None)
        if row["chain_seq"] != 5:
            chain.at("L", int(str(row["chain_seq"])) + 1)["chain_prev_hash"] = row["chain_hash"]
    finding = only(chain)
    assert (finding["rule"], finding["chain_seq"]) == ("chain.genesis_mismatch", 1)
    assert finding["message"] == (
        f"tx-1 v0 at seq 1 links to {lach1.genesis('M')[:12]}, not to the genesis of ledger L "
        f"({lach1.genesis('L')[:12]})"
    )


def test_unchained() -> None:
    chain = small_chain()
    row = chain.at("L", 4)
    row["content_hash"] = row["chain_hash"] = None
    finding = only(chain)
    assert (finding["rule"], finding["severity"], finding["chain_seq"]) == (
        "chain.unchained",
        "high",
        4,
    )
    assert finding["message"] == (
        "tx-4 v0 of lach/1 ledger L has no content_hash, chain_hash: it is outside the chain"
    )


def test_truncated() -> None:
    chain = small_chain()
    checkpoint = chain.checkpoint("L")
    for seq in (4, 5):
        chain.delete(chain.at("L", seq))
    assert chain.verify().findings.height == 0
    finding = only(chain, (checkpoint,))
    assert (finding["rule"], finding["chain_seq"], finding["transaction_id"]) == (
        "chain.truncated",
        4,
        None,
    )
    assert finding["message"] == (
        f"the chain of ledger L ends at seq 3, but an earlier audit saw seq 5 "
        f"(head {checkpoint.head_hash[:12]}): 2 sealed rows are gone from the tail"
    )


def test_rewritten() -> None:
    chain = small_chain()
    checkpoint = chain.checkpoint("L")
    chain.legs_of(chain.at("L", 2))[0]["account_id"] = "elsewhere"
    chain.reseal_from("L", 2)
    finding = only(chain, (checkpoint,))
    assert (finding["rule"], finding["chain_seq"], finding["transaction_id"]) == (
        "chain.rewritten",
        5,
        "tx-5",
    )
    assert finding["message"] == (
        f"tx-5 v0 at checkpoint seq 5 has chain_hash {h(chain.at('L', 5), 'chain_hash')}, the "
        f"checkpoint has {checkpoint.head_hash[:12]}: the history up to it was re-hashed"
    )


def test_unchained_ledger_is_not_verified_and_says_so() -> None:
    chain = small_chain()
    chain.ledgers[0]["chain_algorithm"] = None
    chain.at("L", 2)["kind"] = "edited"
    report = chain.verify()
    assert report.findings.height == 0
    assert report.ledgers == ()
    assert report.unproven == (
        (
            "ledger L is not chained (chain_algorithm NULL): nothing about its 5 rows is "
            "proven by a hash chain"
        ),
    )


# --- the check and its coverage -------------------------------------------------------------


def test_check_chain_coverage_with_and_without_checkpoints() -> None:
    chain = small_chain()
    from ledger_audit.sources.ledger_frames import LedgerFrames

    transactions, entries, ledgers = chain.frames()
    frames = LedgerFrames.empty()
    frames = LedgerFrames(
        ledgers, frames.assets, frames.accounts, transactions, entries, frames.balances
    )
    result = check_chain(frames, VerifySpec())
    assert (result.check, result.status) == ("chain", "passed")
    head = str(chain.at("L", 5)["chain_hash"])
    assert (result.coverage.checked, result.coverage.scope) == (
        5,
        f"ledger L, seq 1..5, no broken link, recomputed head seq 5 {head}",
    )
    assert any("no checkpoint" in s and "undetected" in s for s in result.coverage.unproven)
    proven = check_chain(
        frames,
        VerifySpec(checkpoints=(lach1.Checkpoint("L", 3, str(chain.at("L", 3)["chain_hash"]), 3),)),
    )
    assert proven.status == "passed"
    assert (
        "ledger L: seq 1..3 extends the checkpoint of an earlier audit (unchanged since); "
        "seq 4..5 rests on this chain alone: a re-hash of those rows or a cut tail would go "
        "undetected"
    ) in proven.coverage.unproven


# --- the demo: exactly the answer key's chain entries ---------------------------------------


def _chain_key(summary_path: object) -> set[tuple[str, str, int | None, str | None]]:
    key = json.loads(str(summary_path))
    return {
        (
            k["rule"],
            k["ledger_id"],
            k["chain_seq"],
            None if k["rule"] == "chain.deleted" else k["transaction_id"],
        )
        for k in key
        if str(k["rule"]).startswith("chain.")
    }


@pytest.mark.parametrize("seed", [7, 11])
def test_planted_demo_gives_exactly_the_answer_key(demo_factory: DemoFactory, seed: int) -> None:
    summary = demo_factory(transactions=600, seed=seed)
    frames, _ = load_ledger(summary.ledger_path)
    expected = _chain_key(summary.answer_key_path.read_text(encoding="utf-8"))
    assert {rule for rule, *_ in expected} == {
        RuleId.CHAIN_TAMPERED,
        RuleId.CHAIN_DELETED,
        RuleId.CHAIN_REORDERED,
        RuleId.CHAIN_RESEALED,
    }
    result = check_chain(frames, VerifySpec())
    assert found_frame(result.findings) == expected
    reference = verify_chain(frames.transactions, frames.entries, frames.ledgers, reference=True)
    assert reference.findings.equals(result.findings)


def found_frame(findings: pl.DataFrame) -> set[tuple[str, str, int | None, str | None]]:
    return {
        (str(r), str(lid), s, t)
        for r, lid, s, t in findings.select(
            "rule", "ledger_id", "chain_seq", "transaction_id"
        ).iter_rows()
    }


def test_clean_demo_gives_no_chain_finding(demo_factory: DemoFactory) -> None:
    summary = demo_factory(transactions=600, seed=7, clean=True)
    frames, _ = load_ledger(summary.ledger_path)
    report = verify_chain(frames.transactions, frames.entries, frames.ledgers)
    assert report.findings.height == 0
    (chain,) = report.ledgers
    assert chain.intact
    assert chain.stored_head == chain.recomputed_head
    # The next audit of the same ledger extends this one's checkpoint.
    again = verify_chain(frames.transactions, frames.entries, frames.ledgers, checkpoint_of(report))
    assert again.findings.height == 0
    assert found(again) == set()
