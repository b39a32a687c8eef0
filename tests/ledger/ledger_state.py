"""An independent reading of a ledger database for tests: plain SQL and Python folds.

Deliberately shares no code with the writer, so a bug there cannot hide itself here.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa


@dataclass(frozen=True)
class Version:
    transaction_id: str
    version: int
    kind: str
    status: str
    pending_transaction_id: str | None
    reverses_transaction_id: str | None
    effective_ns: int
    recorded_ns: int
    idempotency_key: str | None
    external_id: str | None
    chain_seq: int
    chain_prev_hash: str
    content_hash: str
    chain_hash: str
    entries: tuple[tuple[int, str, str, str, int], ...]


def read_versions(engine: sa.Engine, ledger_id: str) -> list[Version]:
    with engine.connect() as conn:
        legs: dict[tuple[str, int], list[tuple[int, str, str, str, int]]] = defaultdict(list)
        for r in conn.execute(
            sa.text(
                "SELECT transaction_id, version, entry_index, account_id, asset_id, direction, "
                "amount FROM entries WHERE ledger_id = :l "
                "ORDER BY transaction_id, version, entry_index"
            ),
            {"l": ledger_id},
        ):
            legs[(r[0], int(r[1]))].append((int(r[2]), r[3], r[4], r[5], int(r[6])))
        rows = conn.execute(
            sa.text(
                "SELECT transaction_id, version, kind, status, pending_transaction_id, "
                "reverses_transaction_id, effective_ns, recorded_ns, idempotency_key, external_id, "
                "chain_seq, chain_prev_hash, content_hash, chain_hash "
                "FROM transactions WHERE ledger_id = :l ORDER BY chain_seq"
            ),
            {"l": ledger_id},
        ).all()
    return [
        Version(
            r[0],
            int(r[1]),
            r[2],
            r[3],
            r[4],
            r[5],
            int(r[6]),
            int(r[7]),
            r[8],
            r[9],
            int(r[10]),
            r[11],
            r[12],
            r[13],
            tuple(legs[(r[0], int(r[1]))]),
        )
        for r in rows
    ]


def _iso(ns: int) -> str:
    seconds, frac = divmod(ns, 10**9)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}Z"


def rehash(ledger_id: str, versions: list[Version]) -> list[str]:
    """Problems found by recomputing every content hash and link from scratch."""

    def h(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()

    problems = []
    prev = h("lach/1 genesis\n" + ledger_id)
    for expected_seq, v in enumerate(versions, start=1):
        body = {
            "ledger_id": ledger_id,
            "seq": str(v.chain_seq),
            "transaction_id": v.transaction_id,
            "version": str(v.version),
            "kind": v.kind,
            "status": v.status,
            "pending_transaction_id": v.pending_transaction_id,
            "reverses_transaction_id": v.reverses_transaction_id,
            "effective_at": _iso(v.effective_ns),
            "recorded_at": _iso(v.recorded_ns),
            "idempotency_key": v.idempotency_key,
            "external_id": v.external_id,
            "entries": [
                {"i": str(i), "account_id": a, "asset_id": s, "direction": d, "amount": str(m)}
                for i, a, s, d, m in v.entries
            ],
        }
        content = h(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
        if v.chain_seq != expected_seq:
            problems.append(f"seq {v.chain_seq} where {expected_seq} expected")
        if content != v.content_hash:
            problems.append(f"content of seq {v.chain_seq}")
        if v.chain_prev_hash != prev:
            problems.append(f"prev link of seq {v.chain_seq}")
        link = h(f"lach/1 link\n{v.chain_prev_hash}\n{content}")
        if link != v.chain_hash:
            problems.append(f"chain hash of seq {v.chain_seq}")
        prev = v.chain_hash
    return problems


def invariant_violations(engine: sa.Engine, ledger_id: str) -> list[str]:
    """DESIGN.md section 5 invariants 1-8 over the whole ledger, folded in chain order."""
    versions = read_versions(engine, ledger_id)
    with engine.connect() as conn:
        accounts = {
            r[0]: (r[1], r[2], bool(r[3]))
            for r in conn.execute(
                sa.text(
                    "SELECT account_id, normal_balance, asset_id, allow_negative FROM accounts "
                    "WHERE ledger_id = :l"
                ),
                {"l": ledger_id},
            )
        }
    bad: list[str] = []
    latest: dict[str, Version] = {}
    keys: dict[str, str] = {}
    reversals: dict[str, int] = defaultdict(int)
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])

    def contribute(v: Version, sign: int) -> None:
        for _, account, asset, direction, amount in v.entries:
            c = cells[(account, asset)]
            base = 0 if v.status == "posted" else 2 if v.status == "pending" else None
            if base is not None:
                c[base + (0 if direction == "debit" else 1)] += sign * amount

    for v in versions:
        per_asset: dict[str, int] = defaultdict(int)
        for _, account, asset, direction, amount in v.entries:
            if amount <= 0:
                bad.append(f"{v.transaction_id} v{v.version}: amount {amount}")
            per_asset[asset] += amount if direction == "debit" else -amount
            acct = accounts.get(account)
            if acct is None or (acct[1] is not None and acct[1] != asset):
                bad.append(f"{v.transaction_id}: asset/account mismatch on {account}")
        if any(per_asset.values()):
            bad.append(f"{v.transaction_id} v{v.version} unbalanced {dict(per_asset)}")
        prev = latest.get(v.transaction_id)
        if (v.version == 0 and prev is not None) or (
            v.version > 0
            and (
                prev is None
                or prev.version != v.version - 1
                or prev.status != "pending"
                or v.status not in ("posted", "archived")
            )
        ):
            bad.append(f"{v.transaction_id}: bad status move to v{v.version} {v.status}")
        if prev is not None and v.status == "posted":
            held = {(a, s, d): m for _, a, s, d, m in prev.entries}
            for _, a, s, d, m in v.entries:
                if m > held.get((a, s, d), 0):
                    bad.append(f"{v.transaction_id}: posted {m} exceeds pending")
        if v.idempotency_key is not None:
            owner = keys.setdefault(v.idempotency_key, f"{v.transaction_id}/{v.version}")
            if owner != f"{v.transaction_id}/{v.version}":
                bad.append(f"key {v.idempotency_key} used by {owner} and {v.transaction_id}")
        if v.reverses_transaction_id is not None:
            reversals[v.reverses_transaction_id] += 1
            original = latest.get(v.reverses_transaction_id)
            flip = {"debit": "credit", "credit": "debit"}
            if original is None or sorted(
                (a, s, flip[d], m) for _, a, s, d, m in original.entries
            ) != sorted((a, s, d, m) for _, a, s, d, m in v.entries):
                bad.append(f"{v.transaction_id}: reversal is not the exact inverse")
        if prev is not None:
            contribute(prev, -1)
        contribute(v, +1)
        latest[v.transaction_id] = v
        for _, account, asset, _, _ in v.entries:
            normal, _, allow_negative = accounts[account]
            pd, pc, ud, uc = cells[(account, asset)]
            available = pc - pd - ud if normal == "credit" else pd - pc - uc
            if not allow_negative and available < 0:
                bad.append(f"{account} {asset} available {available} after seq {v.chain_seq}")
    bad.extend(f"{t} reversed {n} times" for t, n in reversals.items() if n > 1)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (_, asset), c in cells.items():
        totals[asset] = [x + y for x, y in zip(totals[asset], c, strict=True)]
    for asset, (pd, pc, ud, uc) in totals.items():
        if pd != pc or ud != uc:
            bad.append(f"{asset}: ledger-wide debits and credits differ")
    bad.extend(rehash(ledger_id, versions))
    return bad


def recomputed_balances(
    engine: sa.Engine, ledger_id: str
) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    """posted_dr, posted_cr, pending_dr, pending_cr per account x asset from latest versions."""
    latest: dict[str, Version] = {}
    for v in read_versions(engine, ledger_id):
        latest[v.transaction_id] = v
    out: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for v in latest.values():
        for _, account, asset, direction, amount in v.entries:
            c = out[(account, asset)]
            if v.status == "posted":
                c[0 if direction == "debit" else 1] += amount
            elif v.status == "pending":
                c[2 if direction == "debit" else 3] += amount
            else:
                _ = c  # archived versions count nowhere, but the account has a row
    return {k: (c[0], c[1], c[2], c[3]) for k, c in out.items()}


def stored_balances(
    engine: sa.Engine, ledger_id: str
) -> dict[tuple[str, str], tuple[int, int, int, int]]:
    with engine.connect() as conn:
        return {
            (r[0], r[1]): (int(r[2]), int(r[3]), int(r[4]), int(r[5]))
            for r in conn.execute(
                sa.text(
                    "SELECT account_id, asset_id, posted_debits, posted_credits, pending_debits, "
                    "pending_credits FROM balances WHERE ledger_id = :l"
                ),
                {"l": ledger_id},
            )
        }
