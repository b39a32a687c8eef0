"""Built demos shared by the demo tests, and independent readings of a demo database.

The readers use only the standard library (sqlite3, hashlib, json, datetime) and share no
code with the writer, the sealing or ``ledger_audit.schema.lach1``: a bug there cannot
hide itself here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger_audit.demo.summary import DemoSummary
from tests.conftest import SEED, SMALL_N, DemoFactory

__all__ = ["SEED", "SMALL_N", "DemoFactory"]


# The session-wide demo builder lives in tests/conftest.py so every test package shares it.

# Primary keys of the six canonical tables (DESIGN.md section 2).
CANONICAL_KEYS: dict[str, tuple[str, ...]] = {
    "ledgers": ("ledger_id",),
    "assets": ("asset_id",),
    "accounts": ("ledger_id", "account_id"),
    "transactions": ("ledger_id", "transaction_id", "version"),
    "entries": ("ledger_id", "transaction_id", "version", "entry_index"),
    "balances": ("ledger_id", "account_id", "asset_id"),
}


@pytest.fixture(scope="session")
def clean_demo(demo_factory: DemoFactory) -> DemoSummary:
    return demo_factory(clean=True)


@pytest.fixture(scope="session")
def planted_demo(demo_factory: DemoFactory) -> DemoSummary:
    return demo_factory()


@pytest.fixture(scope="session")
def answer_key(planted_demo: DemoSummary) -> list[dict[str, object]]:
    key = json.loads(planted_demo.answer_key_path.read_text(encoding="utf-8"))
    assert isinstance(key, list)
    return key


def connect(path: Path) -> closing[sqlite3.Connection]:
    """A read-only connection to a demo ledger file."""
    return closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def rows_digest(path: Path) -> str:
    """SHA-256 over every row of the six canonical tables, each ordered by its key."""
    digest = hashlib.sha256()
    with connect(path) as conn:
        for table, key in CANONICAL_KEYS.items():
            cursor = conn.execute(f"SELECT * FROM {table} ORDER BY {', '.join(key)}")
            columns = [d[0] for d in cursor.description]
            digest.update(json.dumps([table, columns]).encode())
            for row in cursor:
                digest.update(json.dumps(list(row)).encode())
    return digest.hexdigest()


# --- an independent LACH-1 (DESIGN.md section 4) -------------------------------------------


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _iso(ns: int) -> str:
    seconds, fraction = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + (
        f".{fraction:09d}Z"
    )


def genesis(ledger_id: str) -> str:
    return _sha("lach/1 genesis\n" + ledger_id)


def link(prev: str, content: str) -> str:
    return _sha("lach/1 link\n" + prev + "\n" + content)


def content_of(row: dict[str, object], legs: list[tuple[int, str, str, str, int]]) -> str:
    payload = {
        "ledger_id": row["ledger_id"],
        "seq": str(row["chain_seq"]),
        "transaction_id": row["transaction_id"],
        "version": str(row["version"]),
        "kind": row["kind"],
        "status": row["status"],
        "pending_transaction_id": row["pending_transaction_id"],
        "reverses_transaction_id": row["reverses_transaction_id"],
        "effective_at": _iso(int(str(row["effective_ns"]))),
        "recorded_at": _iso(int(str(row["recorded_ns"]))),
        "idempotency_key": row["idempotency_key"],
        "external_id": row["external_id"],
        "entries": [
            {
                "i": str(i),
                "account_id": account,
                "asset_id": asset,
                "direction": direction,
                "amount": str(amount),
            }
            for i, account, asset, direction, amount in sorted(legs)
        ],
    }
    return _sha(json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False))


@dataclass
class Rehash:
    """Where the stored chain disagrees with a recomputation (sets of chain_seq)."""

    rows: int = 0
    content: set[int] = field(default_factory=set)  # content_hash != recomputed
    self_link: set[int] = field(default_factory=set)  # chain_hash != link(prev, content)
    prev_link: set[int] = field(default_factory=set)  # prev != predecessor's chain_hash
    gaps: set[int] = field(default_factory=set)  # seqs missing below the head

    @property
    def clean(self) -> bool:
        return not (self.content or self.self_link or self.prev_link or self.gaps)


def rehash(path: Path, ledger_id: str = "demo") -> Rehash:
    """Recompute every row's content hash and link from the stored fields."""
    report = Rehash()
    with connect(path) as conn:
        conn.row_factory = sqlite3.Row
        legs: dict[tuple[str, int], list[tuple[int, str, str, str, int]]] = defaultdict(list)
        for e in conn.execute("SELECT * FROM entries WHERE ledger_id = ?", (ledger_id,)):
            legs[(e["transaction_id"], e["version"])].append(
                (e["entry_index"], e["account_id"], e["asset_id"], e["direction"], e["amount"])
            )
        rows = {
            int(r["chain_seq"]): dict(r)
            for r in conn.execute(
                "SELECT * FROM transactions WHERE ledger_id = ? ORDER BY chain_seq", (ledger_id,)
            )
        }
    report.rows = len(rows)
    for seq, row in rows.items():
        content = content_of(row, legs[(str(row["transaction_id"]), int(str(row["version"])))])
        if content != row["content_hash"]:
            report.content.add(seq)
        if link(str(row["chain_prev_hash"]), str(row["content_hash"])) != row["chain_hash"]:
            report.self_link.add(seq)
        if seq == 1:
            if row["chain_prev_hash"] != genesis(ledger_id):
                report.prev_link.add(seq)
        elif seq - 1 not in rows:
            report.gaps.add(seq - 1)
        elif row["chain_prev_hash"] != rows[seq - 1]["chain_hash"]:
            report.prev_link.add(seq)
    return report


# --- an independent balance recomputation (DESIGN.md section 3) -----------------------------

Cells = tuple[int, int, int, int]  # posted_debits, posted_credits, pending_debits, pending_credits


def recomputed_balances(path: Path, ledger_id: str = "demo") -> dict[tuple[str, str], Cells]:
    """Per account x asset: sums over the latest version of every transaction."""
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    with connect(path) as conn:
        query = """
            SELECT e.account_id, e.asset_id, t.status, e.direction, e.amount
            FROM transactions t
            JOIN entries e ON e.ledger_id = t.ledger_id AND e.transaction_id = t.transaction_id
                AND e.version = t.version
            WHERE t.ledger_id = ? AND t.version = (
                SELECT MAX(v.version) FROM transactions v
                WHERE v.ledger_id = t.ledger_id AND v.transaction_id = t.transaction_id)
        """
        for account, asset, status, direction, amount in conn.execute(query, (ledger_id,)):
            if status not in ("posted", "pending"):
                continue
            index = (0 if status == "posted" else 2) + (0 if direction == "debit" else 1)
            sums[(account, asset)][index] += amount
    return {key: (v[0], v[1], v[2], v[3]) for key, v in sums.items()}


def cached_balances(path: Path, ledger_id: str = "demo") -> dict[tuple[str, str], Cells]:
    with connect(path) as conn:
        return {
            (account, asset): (pd, pc, qd, qc)
            for account, asset, pd, pc, qd, qc in conn.execute(
                "SELECT account_id, asset_id, posted_debits, posted_credits, pending_debits, "
                "pending_credits FROM balances WHERE ledger_id = ?",
                (ledger_id,),
            )
        }


def balance_differences(path: Path) -> dict[tuple[str, str], tuple[Cells, Cells]]:
    """(cached, recomputed) wherever they differ; a missing row counts as all zero."""
    cached, fresh = cached_balances(path), recomputed_balances(path)
    zero: Cells = (0, 0, 0, 0)
    return {
        key: (cached.get(key, zero), fresh.get(key, zero))
        for key in sorted(set(cached) | set(fresh))
        if cached.get(key, zero) != fresh.get(key, zero)
    }


def transaction_rows(path: Path) -> Iterator[sqlite3.Row]:
    """Every version row, in chain order."""
    with connect(path) as conn:
        conn.row_factory = sqlite3.Row
        yield from conn.execute("SELECT * FROM transactions ORDER BY chain_seq")
