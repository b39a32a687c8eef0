"""The attacker's edits on a copy of a real demo ledger (SQLite, written by the reference writer).

Each edit opens the copy with ``sqlite3``, drops the append-only triggers as an attacker with
DDL rights would, changes the rows, and returns what the verifier must report: the set of
(rule, ledger, chain_seq, transaction_id) of the ``chain.*`` findings, and the checkpoints the
audit is given (an earlier audit's, for the edits only a checkpoint can reveal).

Re-sealing uses ``lach1`` (the attacker knows the algorithm); everything else is plain SQL.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.findings import RuleId
from ledger_audit.schema import lach1

Row = dict[str, object]
Expected = set[tuple[str, str, int | None, str | None]]
LEDGER = "demo"


@dataclass(frozen=True)
class Tampering:
    """What one edit must produce: the chain findings, given these checkpoints."""

    kind: str
    expected: Expected
    checkpoints: tuple[lach1.Checkpoint, ...] = ()


class Ledger:
    """A writable copy of a demo ledger, its rows in chain order."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA synchronous = OFF")  # a throwaway copy: no fsync
        conn.execute("PRAGMA journal_mode = MEMORY")
        for table in ("transactions", "entries"):
            for op in ("update", "delete"):
                conn.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
        conn.execute("DROP INDEX IF EXISTS transactions_chain_seq")  # seqs may repeat now

    def rows(self) -> list[Row]:
        query = "SELECT * FROM transactions WHERE ledger_id = ? ORDER BY chain_seq"
        return [dict(r) for r in self.conn.execute(query, (LEDGER,))]

    def legs(self, row: Row) -> list[Row]:
        query = (
            "SELECT * FROM entries WHERE ledger_id = ? AND transaction_id = ? AND version = ? "
            "ORDER BY entry_index"
        )
        key = (LEDGER, row["transaction_id"], row["version"])
        return [dict(r) for r in self.conn.execute(query, key)]

    def set_row(self, row: Row, **values: object) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        self.conn.execute(
            f"UPDATE transactions SET {assignments} "
            "WHERE ledger_id = ? AND transaction_id = ? AND version = ?",
            (*values.values(), LEDGER, row["transaction_id"], row["version"]),
        )
        row.update(values)

    def set_leg(self, leg: Row, **values: object) -> None:
        assignments = ", ".join(f"{column} = ?" for column in values)
        self.conn.execute(
            f"UPDATE entries SET {assignments} WHERE ledger_id = ? AND transaction_id = ? "
            "AND version = ? AND entry_index = ?",
            (*values.values(), LEDGER, leg["transaction_id"], leg["version"], leg["entry_index"]),
        )
        leg.update(values)

    def delete(self, row: Row) -> None:
        key = (LEDGER, row["transaction_id"], row["version"])
        where = "WHERE ledger_id = ? AND transaction_id = ? AND version = ?"
        self.conn.execute(f"DELETE FROM entries {where}", key)
        self.conn.execute(f"DELETE FROM transactions {where}", key)

    def insert(self, row: Row, legs: list[Row]) -> None:
        for table, records in (("transactions", [row]), ("entries", legs)):
            for record in records:
                columns = ", ".join(record)
                marks = ", ".join("?" for _ in record)
                self.conn.execute(
                    f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(record.values())
                )

    def sealed(self, row: Row, legs: list[Row]) -> lach1.SealedVersion:
        return lach1.SealedVersion(
            ledger_id=LEDGER,
            seq=int(str(row["chain_seq"])),
            transaction_id=str(row["transaction_id"]),
            version=int(str(row["version"])),
            kind=str(row["kind"]),
            status=str(row["status"]),
            pending_transaction_id=_text(row["pending_transaction_id"]),
            reverses_transaction_id=_text(row["reverses_transaction_id"]),
            effective_ns=int(str(row["effective_ns"])),
            recorded_ns=int(str(row["recorded_ns"])),
            idempotency_key=_text(row["idempotency_key"]),
            external_id=_text(row["external_id"]),
            entries=tuple(
                lach1.SealedEntry(
                    int(str(e["entry_index"])),
                    str(e["account_id"]),
                    str(e["asset_id"]),
                    str(e["direction"]),
                    int(str(e["amount"])),
                )
                for e in legs
            ),
        )

    def reseal(self, row: Row, prev: str | None = None) -> None:
        """Recompute ``row``'s hashes from its fields now (after ``prev`` if given)."""
        prev = str(row["chain_prev_hash"]) if prev is None else prev
        content = lach1.content_hash(self.sealed(row, self.legs(row)))
        self.set_row(
            row,
            chain_prev_hash=prev,
            content_hash=content,
            chain_hash=lach1.link_hash(prev, content),
        )

    def checkpoint(self) -> lach1.Checkpoint:
        rows = self.rows()
        head = rows[-1]
        return lach1.Checkpoint(
            LEDGER, int(str(head["chain_seq"])), str(head["chain_hash"]), len(rows)
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _seq(row: Row) -> int:
    return int(str(row["chain_seq"]))


def _tx(row: Row) -> str:
    return str(row["transaction_id"])


def _inner(rows: list[Row], rng: random.Random) -> Row:
    """A row that is neither the first nor the head (edits there need no special case)."""
    return rows[rng.randrange(1, len(rows) - 1)]


def _with_legs(ledger: Ledger, rows: list[Row], rng: random.Random, least: int = 1) -> Row:
    while True:
        row = _inner(rows, rng)
        if len(ledger.legs(row)) >= least:
            return row


def _tampered(row: Row) -> Expected:
    return {(RuleId.CHAIN_TAMPERED.value, LEDGER, _seq(row), _tx(row))}


# --- the eleven kinds ----------------------------------------------------------------------


def amount(ledger: Ledger, rng: random.Random) -> Tampering:
    """One leg's amount changed in place (the version no longer balances)."""
    row = _with_legs(ledger, ledger.rows(), rng)
    leg = rng.choice(ledger.legs(row))
    ledger.set_leg(leg, amount=int(str(leg["amount"])) + rng.randrange(1, 10_000))
    return Tampering("amount", _tampered(row))


def account(ledger: Ledger, rng: random.Random) -> Tampering:
    """One leg moved to another account of the same asset."""
    rows = ledger.rows()
    while True:
        row = _with_legs(ledger, rows, rng)
        leg = rng.choice(ledger.legs(row))
        others = [
            str(a)
            for (a,) in ledger.conn.execute(
                "SELECT DISTINCT account_id FROM entries WHERE asset_id = ? AND account_id != ? "
                "ORDER BY account_id",
                (leg["asset_id"], leg["account_id"]),
            )
        ]
        if others:
            ledger.set_leg(leg, account_id=rng.choice(others))
            return Tampering("account", _tampered(row))


def timestamp(ledger: Ledger, rng: random.Random) -> Tampering:
    """The effective or the recorded time moved (by a nanosecond up to a day)."""
    row = _inner(ledger.rows(), rng)
    column = rng.choice(("effective_ns", "recorded_ns"))
    delta = rng.choice((-1, 1)) * rng.choice((1, 1_000, 86_400 * 10**9))
    ledger.set_row(row, **{column: int(str(row[column])) + delta})
    return Tampering("timestamp", _tampered(row))


def metadata(ledger: Ledger, rng: random.Random) -> Tampering:
    """The description or the metadata edited; the sealed fields and the money untouched."""
    row = rng.choice(ledger.rows())
    if rng.random() < 0.5:
        ledger.set_row(row, description=f"{row['description'] or ''} (approved)")
    else:
        ledger.set_row(row, metadata='{"event": "refund", "note": "é \\"x\\""}')
    return Tampering("metadata", {(RuleId.CHAIN_META_TAMPERED.value, LEDGER, _seq(row), _tx(row))})


def delete(ledger: Ledger, rng: random.Random) -> Tampering:
    """A row below the head and its entries deleted."""
    row = _inner(ledger.rows(), rng)
    ledger.delete(row)
    return Tampering("delete", {(RuleId.CHAIN_DELETED.value, LEDGER, _seq(row), None)})


def insert(ledger: Ledger, rng: random.Random) -> Tampering:
    """A row that was never sealed there: a copy at a taken seq, a fork, or one after the head."""
    rows = ledger.rows()
    head = _seq(rows[-1])
    how = rng.choice(("copy", "fork", "after_head", "branch"))
    source = _inner(rows, rng)
    legs = ledger.legs(source)
    new_id = f"tx-forged-{rng.randrange(10**9):09d}"
    row = {**source, "transaction_id": new_id, "version": 0}
    row["idempotency_key"] = row["external_id"] = None
    new_legs = [{**leg, "transaction_id": new_id, "version": 0} for leg in legs]
    if how == "copy":  # the same stored row and hashes, under a new id, at the same seq
        row = {**source, "transaction_id": new_id}
        new_legs = [{**leg, "transaction_id": new_id} for leg in legs]
        ledger.insert(row, new_legs)
        return Tampering("insert", {(RuleId.CHAIN_INSERTED.value, LEDGER, _seq(row), new_id)})
    if how == "fork":  # sealed properly after the predecessor of an existing seq
        before = rows[_seq(source) - 2]
        prev = str(before["chain_hash"])
    elif how == "branch":  # appended after the head, sealed after an older row
        row["chain_seq"] = head + 1
        prev = str(rows[_seq(row) - 1 - rng.randrange(2, 20)]["chain_hash"])
    else:  # appended after the head, hashes copied from the source row
        row["chain_seq"] = head + 1
        ledger.insert(row, new_legs)
        return Tampering("insert", {(RuleId.CHAIN_INSERTED.value, LEDGER, head + 1, new_id)})
    content = lach1.content_hash(ledger.sealed(row, new_legs))
    row.update(
        chain_prev_hash=prev, content_hash=content, chain_hash=lach1.link_hash(prev, content)
    )
    ledger.insert(row, new_legs)
    return Tampering("insert", {(RuleId.CHAIN_INSERTED.value, LEDGER, _seq(row), new_id)})


def swap(ledger: Ledger, rng: random.Random) -> Tampering:
    """Two rows' chain_seq exchanged (neighbours or far apart)."""
    rows = ledger.rows()
    i = rng.randrange(len(rows) - 1)
    j = i + 1 if rng.random() < 0.5 else rng.randrange(i + 1, len(rows))
    a, b = rows[i], rows[j]
    sa, sb = _seq(a), _seq(b)
    ledger.set_row(a, chain_seq=-sa)
    ledger.set_row(b, chain_seq=sa)
    ledger.set_row(a, chain_seq=sb)
    return Tampering("swap", {(RuleId.CHAIN_REORDERED.value, LEDGER, sa, _tx(b))})


def _balanced_edit(ledger: Ledger, rng: random.Random, rows: list[Row]) -> Row:
    """Both legs of a two-leg version lowered (or raised) by the same amount."""
    while True:
        row = _inner(rows, rng)
        legs = ledger.legs(row)
        if len(legs) == 2 and min(int(str(leg["amount"])) for leg in legs) > 1:
            delta = rng.choice((-1, 1)) * rng.randrange(1, min(int(str(g["amount"])) for g in legs))
            for leg in legs:
                ledger.set_leg(leg, amount=int(str(leg["amount"])) + delta)
            return row


def reseal(ledger: Ledger, rng: random.Random) -> Tampering:
    """A row edited and its own hashes recomputed; its successor still links to the old hash."""
    row = _balanced_edit(ledger, rng, ledger.rows())
    ledger.reseal(row)
    return Tampering("reseal", {(RuleId.CHAIN_RESEALED.value, LEDGER, _seq(row), _tx(row))})


def reseal_to_head(ledger: Ledger, rng: random.Random) -> Tampering:
    """A row edited and every row from it to the head re-sealed, behind a checkpoint."""
    checkpoint = ledger.checkpoint()
    rows = ledger.rows()
    row = _balanced_edit(ledger, rng, rows)
    prev = str(row["chain_prev_hash"])
    for later in rows[_seq(row) - 1 :]:
        ledger.reseal(later, prev)
        prev = str(later["chain_hash"])
    head = rows[-1]
    return Tampering(
        "reseal_to_head",
        {(RuleId.CHAIN_REWRITTEN.value, LEDGER, _seq(head), _tx(head))},
        (checkpoint,),
    )


def truncate(ledger: Ledger, rng: random.Random) -> Tampering:
    """The last rows deleted, behind a checkpoint."""
    checkpoint = ledger.checkpoint()
    rows = ledger.rows()
    keep = len(rows) - rng.randrange(1, 30)
    for row in rows[keep:]:
        ledger.delete(row)
    return Tampering(
        "truncate", {(RuleId.CHAIN_TRUNCATED.value, LEDGER, keep + 1, None)}, (checkpoint,)
    )


def two_legs(ledger: Ledger, rng: random.Random) -> Tampering:
    """Both legs changed by the same amount: the version still balances."""
    row = _balanced_edit(ledger, rng, ledger.rows())
    return Tampering("two_legs", _tampered(row))


KINDS: dict[str, Callable[[Ledger, random.Random], Tampering]] = {
    "amount": amount,
    "account": account,
    "timestamp": timestamp,
    "metadata": metadata,
    "delete": delete,
    "insert": insert,
    "swap": swap,
    "reseal": reseal,
    "reseal_to_head": reseal_to_head,
    "truncate": truncate,
    "two_legs": two_legs,
}
"""The campaign's kinds of tampering, by name."""


def tamper(path: Path, kind: str, seed: int) -> Tampering:
    """Apply one edit of ``kind`` (seeded) to the SQLite ledger at ``path``, in place."""
    rng = random.Random(f"{kind}-{seed}")
    with closing(sqlite3.connect(path)) as conn:
        result = KINDS[kind](Ledger(conn), rng)
        conn.commit()
    return result
