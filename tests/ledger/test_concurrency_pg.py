"""Many concurrent writers on a real PostgreSQL server, one hot account, retried keys."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
import sqlalchemy as sa

from ledger_audit.errors import PostRejected
from ledger_audit.ledger.projector import project_balances
from ledger_audit.ledger.requests import PostResult, PostTransaction
from ledger_audit.ledger.writer import LedgerWriter
from tests.ledger.conftest import make_ledger, move
from tests.ledger.ledger_state import invariant_violations, recomputed_balances, stored_balances

WRITERS = 8
POSTS = 500
WALLETS = ("liabilities:wallet:alice", "liabilities:wallet:bob")


def work(writer: LedgerWriter, seed: int, out: list[tuple[str, PostResult | PostRejected]]) -> None:
    rng = random.Random(seed)
    sent: list[PostTransaction] = []
    for j in range(POSTS):
        if sent and rng.random() < 0.2:
            request = rng.choice(sent)  # a client retry: same key, same payload
        elif j % 25 == 0:
            # the same request sent by every writer at once: exactly one may write it
            request = PostTransaction(
                f"shared-{j}", move("assets:bank:usd", "revenue:fees", 100 + j)
            )
        elif rng.random() < 0.4:
            request = PostTransaction(
                f"w{seed}-{j}", move("assets:bank:usd", rng.choice(WALLETS), rng.randint(1, 500))
            )
        else:  # a fee into the one hot account, from a wallet that must not go negative
            request = PostTransaction(
                f"w{seed}-{j}", move(rng.choice(WALLETS), "revenue:fees", rng.randint(1, 400))
            )
        sent.append(request)
        try:
            out.append((request.idempotency_key, writer.submit(request)))
        except PostRejected as rejected:
            out.append((request.idempotency_key, rejected))


@pytest.mark.postgres
def test_concurrent_writers_keep_the_ledger_whole(pg_url: str) -> None:
    engine, _ = make_ledger(pg_url)
    outcomes: list[list[tuple[str, PostResult | PostRejected]]] = [[] for _ in range(WRITERS)]
    threads = [
        threading.Thread(target=work, args=(LedgerWriter(engine, "t"), seed, outcomes[seed]))
        for seed in range(WRITERS)
    ]
    stop = threading.Event()

    def project_while_writing() -> None:
        while not stop.is_set():
            project_balances(engine, "t")

    projector = threading.Thread(target=project_while_writing)
    projector.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stop.set()
    projector.join()

    results = [(k, o) for per in outcomes for k, o in per]
    codes = Counter(o.code for _, o in results if isinstance(o, PostRejected))
    assert set(codes) <= {"insufficient_funds"}, codes
    assert codes["insufficient_funds"] > 0, (
        "the wallets were never contended: the test proves nothing"
    )
    by_key: dict[str, set[tuple[str, int]]] = {}
    for key, outcome in results:
        if isinstance(outcome, PostResult):
            by_key.setdefault(key, set()).add((outcome.transaction_id, outcome.chain_seq))
    assert all(len(v) == 1 for v in by_key.values()), "a key produced two transactions"
    replays = sum(1 for _, o in results if isinstance(o, PostResult) and o.replayed)
    assert replays >= WRITERS * POSTS // 10

    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT COUNT(*), MAX(chain_seq) FROM transactions")).one()
        keys = conn.execute(
            sa.text("SELECT COUNT(DISTINCT idempotency_key) FROM transactions")
        ).scalar_one()
    assert rows[0] == rows[1] == len(by_key) == keys
    assert invariant_violations(engine, "t") == []
    project_balances(engine, "t")
    assert stored_balances(engine, "t") == recomputed_balances(engine, "t")
    engine.dispose()
