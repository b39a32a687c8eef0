"""LACH-1 test vectors of DESIGN.md section 4, byte for byte, through the real write path."""

from __future__ import annotations

import sqlalchemy as sa

from ledger_audit.ledger import admin
from ledger_audit.ledger.requests import AccountSpec, EntrySpec, PostTransaction
from ledger_audit.ledger.sealing import NewVersion, append_versions, lock_head
from ledger_audit.ledger.writer import LedgerWriter
from ledger_audit.schema import lach1
from ledger_audit.schema.times import iso_to_ns
from tests.ledger.conftest import make_ledger, move

GENESIS = "6253ef4548c1c89753952f65f1a00979d66e6c5335adc87c503dc1d397dd7dc1"
VECTORS = [
    (
        "d44cd7f7516484f50d00bc54e953bea3659bc02563d370938411729b0694c64f",
        "e7a8da8062ab3f23a8f3419f1ed05555dccaef123d5d6b582e3b1d5975caab96",
    ),
    (
        "1ff4d6860de56bdb3c0e1f4b3783672a4ac914a1672ffe50357aadd619c8710c",
        "b06333a6a9b73b2a53d3c635e142e868acfbb32b5df7dd4f5f7dbb45762a86d4",
    ),
    (
        "152ff05f6bdddffe0ca23a7a97189af066fad4b86893a9c6e746b0bd6205ac03",
        "4e2ebdf49c66928b0a62e48e1c269a6a6fd141774d643b7b8cc79cb68111cec3",
    ),
]
TAMPERED_CONTENT = "95fde954749db5beb223f2c7bf2b406389a46452cee3e272cccaff7b6ce712d1"


def vector_rows(amount: int = 10000) -> list[lach1.SealedVersion]:
    def row(
        seq: int,
        tid: str,
        kind: str,
        status: str,
        at: str,
        legs: list[tuple[str, str, int]],
        idem: str | None = None,
        ext: str | None = None,
        pend: str | None = None,
    ) -> lach1.SealedVersion:
        t = iso_to_ns(at)
        return lach1.SealedVersion(
            "demo",
            seq,
            tid,
            0,
            kind,
            status,
            pend,
            None,
            t,
            t,
            idem,
            ext,
            tuple(lach1.SealedEntry(i, a, "USD/2", d, m) for i, (a, d, m) in enumerate(legs)),
        )

    return [
        row(
            1,
            "tx-0001",
            "standard",
            "posted",
            "2025-01-31T12:00:00.000000000Z",
            [("assets:bank", "debit", amount), ("liabilities:wallet:alice", "credit", amount)],
            idem="ik-1",
        ),
        row(
            2,
            "tx-0002",
            "pending",
            "pending",
            "2025-01-31T12:05:00.123456789Z",
            [
                ("liabilities:wallet:alice", "debit", 2500),
                ("liabilities:card:holds", "credit", 2500),
            ],
            ext="card-auth-77",
        ),
        row(
            3,
            "tx-0003",
            "post_pending",
            "posted",
            "2025-02-01T09:00:00.000000000Z",
            [("liabilities:card:holds", "debit", 2000), ("revenue:merchant", "credit", 2000)],
            ext="card-auth-77",
            pend="tx-0002",
        ),
    ]


def test_vectors_from_the_hash_functions() -> None:
    assert lach1.genesis("demo") == GENESIS
    sealed = lach1.seal_chain(vector_rows(), GENESIS)
    assert [(content, link) for _, content, link in sealed] == VECTORS
    assert lach1.content_hash(vector_rows(10001)[0]) == TAMPERED_CONTENT


def test_vectors_through_the_sealed_append(sqlite_url: str) -> None:
    """The rows the writer stores for the vectors carry exactly the vector hashes."""
    engine, _ = make_ledger(sqlite_url, ledger_id="demo")
    with engine.begin() as conn:
        head = lock_head(conn, "demo")
        assert head.head_hash == GENESIS
        for row in vector_rows():
            version = NewVersion(
                transaction_id=row.transaction_id,
                version=0,
                kind=row.kind,
                status=row.status,
                entries=tuple(
                    EntrySpec(e.account_id, e.asset_id, e.direction, e.amount)  # type: ignore[arg-type]
                    for e in row.entries
                ),
                effective_ns=row.effective_ns,
                pending_transaction_id=row.pending_transaction_id,
                idempotency_key=row.idempotency_key,
                external_id=row.external_id,
            )
            recorded = row.recorded_ns
            head, _ = append_versions(
                conn, "demo", head, [version], clock=iter((recorded,)).__next__
            )
    with engine.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT content_hash, chain_hash FROM transactions ORDER BY chain_seq")
        ).all()
    assert [tuple(r) for r in stored] == VECTORS


def test_first_vector_through_the_public_writer(sqlite_url: str) -> None:
    engine, _ = make_ledger(sqlite_url, ledger_id="demo")
    admin.open_accounts(engine, "demo", [AccountSpec("assets:bank", "debit", "USD/2")], opened_ns=0)
    at = iso_to_ns("2025-01-31T12:00:00Z")
    writer = LedgerWriter(engine, "demo", clock=lambda: at)
    result = writer.submit(
        PostTransaction(
            "ik-1", move("assets:bank", "liabilities:wallet:alice", 10000), transaction_id="tx-0001"
        )
    )
    assert (result.chain_seq, result.chain_hash) == (1, VECTORS[0][1])
