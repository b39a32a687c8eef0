"""Small ledgers written in the tests' own language, turned into the loader's frames.

    ledger l closed_through=100 closed_at=150
    account assets:bank debit USD/2
    account liabilities:wallet:a credit USD/2 no-negative
    tx t1 standard posted at=10 key=k1 ext=e1
      assets:bank debit 500 USD/2
      liabilities:wallet:a credit 500 USD/2
    tx t2/1 post_pending posted at=20 eff=15 pending=t0 reverses=t9
      ...
    balance liabilities:wallet:a USD/2 0 500 0 0 as_of=10

Times are whole seconds after T0 (2025-01-01T00:00:00Z); ``at`` sets both times, ``eff``
overrides the effective one. ``tx ID/N`` is version N. Rows are sealed into a valid LACH-1
chain in the order written (one chain per ledger), so a ledger without deliberate damage
passes chain verification. Only the first ledger line's id is used for what follows it.
"""

from __future__ import annotations

import shlex
from typing import Any

import polars as pl

from ledger_audit.schema import lach1
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.ledger_frames import LedgerFrames

T0 = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
SECOND = 1_000_000_000

Row = dict[str, Any]


def at(seconds: int) -> int:
    """The instant ``seconds`` after T0, in epoch nanoseconds."""
    return T0 + seconds * SECOND


def _options(words: list[str]) -> tuple[list[str], dict[str, str]]:
    plain = [w for w in words if "=" not in w]
    named = dict(w.split("=", 1) for w in words if "=" in w)
    return plain, named


def _frame(table: str, rows: list[Row]) -> pl.DataFrame:
    schema = FRAME_SCHEMAS[table]
    key = {
        "ledgers": ["ledger_id"],
        "assets": ["asset_id"],
        "accounts": ["ledger_id", "account_id"],
        "transactions": ["ledger_id", "transaction_id", "version"],
        "entries": ["ledger_id", "transaction_id", "version", "entry_index"],
        "balances": ["ledger_id", "account_id", "asset_id"],
    }[table]
    frame = pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)
    return frame.sort(key)


class _Reader:
    def __init__(self) -> None:
        self.ledger = "l"
        self.tables: dict[str, list[Row]] = {t: [] for t in FRAME_SCHEMAS}
        self.legs: dict[tuple[str, str, int], list[Row]] = {}

    def line(self, words: list[str]) -> None:
        plain, named = _options(words)
        handler = getattr(self, f"_{plain[0]}")
        handler(plain[1:], named)

    def _ledger(self, plain: list[str], named: dict[str, str]) -> None:
        self.ledger = plain[0]
        meta = {
            f"{k}_ns": at(int(v)) for k, v in named.items() if k in ("closed_through", "closed_at")
        }
        metadata = None if not meta else str(meta).replace("'", '"')
        self.tables["ledgers"].append(
            {
                "ledger_id": self.ledger,
                "name": self.ledger,
                "chain_algorithm": named.get("chain", "lach/1"),
                "created_ns": T0,
                "metadata": metadata,
            }
        )

    def _account(self, plain: list[str], _: dict[str, str]) -> None:
        account, normal, *rest = plain
        asset = rest[0] if rest and rest[0] != "*" else None
        self.tables["accounts"].append(
            {
                "ledger_id": self.ledger,
                "account_id": account,
                "name": account,
                "normal_balance": normal,
                "asset_id": asset,
                "allow_negative": "no-negative" not in rest,
                "opened_ns": T0,
            }
        )

    def _tx(self, plain: list[str], named: dict[str, str]) -> None:
        ident, kind, status = plain
        tx, _, version = ident.partition("/")
        recorded = at(int(named["at"]))
        self.tables["transactions"].append(
            {
                "ledger_id": self.ledger,
                "transaction_id": tx,
                "version": int(version or 0),
                "kind": kind,
                "status": status,
                "pending_transaction_id": named.get("pending"),
                "reverses_transaction_id": named.get("reverses"),
                "effective_ns": at(int(named["eff"])) if "eff" in named else recorded,
                "recorded_ns": recorded,
                "idempotency_key": named.get("key"),
                "external_id": named.get("ext"),
            }
        )
        self.legs[(self.ledger, tx, int(version or 0))] = []

    def leg(self, plain: list[str]) -> None:
        account, direction, amount, asset = plain
        last = self.tables["transactions"][-1]
        legs = self.legs[(self.ledger, last["transaction_id"], last["version"])]
        legs.append(
            {
                "ledger_id": self.ledger,
                "transaction_id": last["transaction_id"],
                "version": last["version"],
                "entry_index": len(legs),
                "account_id": account,
                "asset_id": asset,
                "direction": direction,
                "amount": int(amount),
            }
        )

    def _balance(self, plain: list[str], named: dict[str, str]) -> None:
        account, asset, *cells = plain
        pd, pc, qd, qc = (int(c) for c in cells)
        self.tables["balances"].append(
            {
                "ledger_id": self.ledger,
                "account_id": account,
                "asset_id": asset,
                "posted_debits": pd,
                "posted_credits": pc,
                "pending_debits": qd,
                "pending_credits": qc,
                "as_of_ns": at(int(named["as_of"])),
                "lock_version": 1,
            }
        )

    def seal(self) -> None:
        heads: dict[str, tuple[int, str]] = {}
        for row in self.tables["transactions"]:
            ledger = row["ledger_id"]
            seq, prev = heads.get(ledger, (0, lach1.genesis(ledger)))
            legs = self.legs[(ledger, row["transaction_id"], row["version"])]
            sealed = lach1.SealedVersion(
                ledger_id=ledger,
                seq=seq + 1,
                transaction_id=row["transaction_id"],
                version=row["version"],
                kind=row["kind"],
                status=row["status"],
                pending_transaction_id=row["pending_transaction_id"],
                reverses_transaction_id=row["reverses_transaction_id"],
                effective_ns=row["effective_ns"],
                recorded_ns=row["recorded_ns"],
                idempotency_key=row["idempotency_key"],
                external_id=row["external_id"],
                entries=tuple(
                    lach1.SealedEntry(
                        e["entry_index"],
                        e["account_id"],
                        e["asset_id"],
                        e["direction"],
                        e["amount"],
                    )
                    for e in legs
                ),
            )
            content = lach1.content_hash(sealed)
            link = lach1.link_hash(prev, content)
            row.update(
                chain_seq=seq + 1, chain_prev_hash=prev, content_hash=content, chain_hash=link
            )
            heads[ledger] = (seq + 1, link)
            self.tables["entries"].extend(legs)

    def frames(self) -> LedgerFrames:
        if not self.tables["ledgers"]:
            self._ledger([self.ledger], {})
        assets = sorted(
            {e["asset_id"] for legs in self.legs.values() for e in legs}
            | {a["asset_id"] for a in self.tables["accounts"] if a["asset_id"]}
        )
        self.tables["assets"] = [
            {"asset_id": a, "code": a.split("/")[0], "scale": int(a.split("/")[1]), "kind": "fiat"}
            for a in assets
        ]
        return LedgerFrames.from_tables({t: _frame(t, rows) for t, rows in self.tables.items()})


def ledger_from_text(text: str) -> LedgerFrames:
    """Frames of the ledger written in ``text`` (see the module docstring)."""
    reader = _Reader()
    for raw in text.strip().splitlines():
        if not raw.strip() or raw.strip().startswith("#"):
            continue
        words = shlex.split(raw)
        if raw.startswith((" ", "\t")):
            reader.leg(words)
        else:
            reader.line(words)
    reader.seal()
    return reader.frames()


def replace_rows(frames: LedgerFrames, table: str, frame: pl.DataFrame) -> LedgerFrames:
    """The same ledger with one table replaced (to plant damage after sealing)."""
    return LedgerFrames.from_tables({**dict(frames.items()), table: frame})
