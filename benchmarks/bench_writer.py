"""Writer throughput on PostgreSQL: 8 concurrent clients, one hot fee account.

Compares, in the same run and on the same server, the reference writer (append-only log,
balances projected apart) with the naive design that locks and updates every touched
balance row inside each post. Prints tx/s and latency percentiles for each.

    .venv/bin/python benchmarks/bench_writer.py [--clients 8] [--posts 500] [--no-fsync]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import statistics
import threading
import time
from collections.abc import Sequence

import sqlalchemy as sa

from ledger_audit.errors import PostRejected
from ledger_audit.ledger import admin
from ledger_audit.ledger.engine import open_writer_engine
from ledger_audit.ledger.projector import project_balances
from ledger_audit.ledger.requests import (
    AccountSpec,
    EntrySpec,
    PostResult,
    PostTransaction,
    Request,
)
from ledger_audit.ledger.writer import LedgerWriter
from ledger_audit.schema.tables import balances
from ledger_audit.testing.pgserver import PostgresServer

LEDGER = "bench"
HOT = "revenue:fees:usd"
WALLETS = 200


class NaiveWriter(LedgerWriter):
    """The design we avoid: every post locks and rewrites its accounts' balance rows."""

    def _submit_locked(
        self, conn: sa.Connection, requests: Sequence[Request]
    ) -> list[PostResult | PostRejected]:
        out = super()._submit_locked(conn, requests)
        for request in requests:
            if isinstance(request, PostTransaction):
                for leg in sorted(request.entries, key=lambda e: e.account_id):
                    key = (
                        balances.c.ledger_id == LEDGER,
                        balances.c.account_id == leg.account_id,
                        balances.c.asset_id == leg.asset_id,
                    )
                    conn.execute(sa.select(balances.c.lock_version).where(*key).with_for_update())
                    column = "posted_debits" if leg.direction == "debit" else "posted_credits"
                    conn.execute(
                        balances.update()
                        .where(*key)
                        .values(
                            {
                                column: balances.c[column] + leg.amount,
                                "lock_version": balances.c.lock_version + 1,
                            }
                        )
                    )
        return out


def setup(url: str) -> sa.Engine:
    engine = open_writer_engine(url, create=True)
    admin.create_ledger(engine, LEDGER, name="bench", created_ns=0)
    admin.register_asset(engine, "USD/2")
    specs = [AccountSpec("assets:bank:usd", "debit", "USD/2"), AccountSpec(HOT, "credit", "USD/2")]
    specs += [
        AccountSpec(f"liabilities:wallet:{i}", "credit", "USD/2", allow_negative=False)
        for i in range(WALLETS)
    ]
    admin.open_accounts(engine, LEDGER, specs, opened_ns=0)
    writer = LedgerWriter(engine, LEDGER)
    writer.submit_many(
        [
            PostTransaction(
                f"fund-{i}",
                (
                    EntrySpec("assets:bank:usd", "USD/2", "debit", 10_000_000),
                    EntrySpec(f"liabilities:wallet:{i}", "USD/2", "credit", 10_000_000),
                ),
            )
            for i in range(WALLETS)
        ]
    )
    project_balances(engine, LEDGER)
    with engine.connect() as conn:  # planner statistics, as a live database has them
        conn.execute(sa.text("ANALYZE"))
        conn.commit()
    return engine


def client(writer: LedgerWriter, seed: int, posts: int, latencies: list[float]) -> None:
    rng = random.Random(seed)
    for j in range(posts):
        wallet = f"liabilities:wallet:{rng.randrange(WALLETS)}"
        if rng.random() < 0.7:
            legs = (EntrySpec(wallet, "USD/2", "debit", 25), EntrySpec(HOT, "USD/2", "credit", 25))
        else:
            other = f"liabilities:wallet:{rng.randrange(WALLETS)}"
            if other == wallet:
                continue
            legs = (
                EntrySpec(wallet, "USD/2", "debit", 100),
                EntrySpec(other, "USD/2", "credit", 100),
            )
        started = time.perf_counter()
        with contextlib.suppress(PostRejected):  # an overdraft refusal is a valid outcome
            writer.submit(PostTransaction(f"c{seed}-{j}", legs))
        latencies.append(time.perf_counter() - started)


def run(name: str, engine: sa.Engine, cls: type[LedgerWriter], clients: int, posts: int) -> None:
    per_client: list[list[float]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(target=client, args=(cls(engine, LEDGER), seed, posts, per_client[seed]))
        for seed in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    latencies = sorted(x for per in per_client for x in per)
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    print(
        f"{name:<34} {len(latencies) / wall:>9.0f} tx/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms"
        f"  ({len(latencies)} posts, {wall:.1f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--posts", type=int, default=500, help="posts per client")
    parser.add_argument("--no-fsync", action="store_true", help="start the server with fsync off")
    args = parser.parse_args()
    designs: list[tuple[str, type[LedgerWriter]]] = [
        ("reference (log + projector)", LedgerWriter),
        ("naive (balance rows locked)", NaiveWriter),
    ]
    print(f"{args.clients} clients x {args.posts} posts, {WALLETS} wallets, one hot fee account")
    with PostgresServer(fsync=not args.no_fsync) as server:
        for i, (name, cls) in enumerate(designs):
            engine = setup(server.create_database(f"bench{i}"))
            run(name, engine, cls, args.clients, args.posts)
            engine.dispose()


if __name__ == "__main__":
    main()
