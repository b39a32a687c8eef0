"""Sealed LACH-1 chains built in memory with ``lach1``, and the edits an attacker makes.

A ``Chain`` holds plain row dicts (TRANSACTIONS and ENTRIES columns) so that tests can edit
anything, then turns them into the frames the verifier reads.
"""

from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field

import polars as pl

from ledger_audit.checks.chain import ChainReport, verify_chain
from ledger_audit.schema import lach1
from ledger_audit.schema.frames import ENTRIES, LEDGERS, TRANSACTIONS, WIDE_AMOUNT

T0 = 1_735_689_600_000_000_000
ASSETS = ("USD/2", "EUR/2", "BTC/8", "JPY/0")
Row = dict[str, object]
Expected = set[tuple[str, str, int | None, str | None]]


def sealed_of(row: Row, legs: list[Row]) -> lach1.SealedVersion:
    """The SealedVersion of a stored row and its entries (as they are now)."""
    return lach1.SealedVersion(
        ledger_id=str(row["ledger_id"]),
        seq=int(str(row["chain_seq"])),
        transaction_id=str(row["transaction_id"]),
        version=int(str(row["version"])),
        kind=str(row["kind"]),
        status=str(row["status"]),
        pending_transaction_id=row["pending_transaction_id"],  # type: ignore[arg-type]
        reverses_transaction_id=row["reverses_transaction_id"],  # type: ignore[arg-type]
        effective_ns=int(str(row["effective_ns"])),
        recorded_ns=int(str(row["recorded_ns"])),
        idempotency_key=row["idempotency_key"],  # type: ignore[arg-type]
        external_id=row["external_id"],  # type: ignore[arg-type]
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


def version_row(
    version: lach1.SealedVersion, prev: str, content: str, link: str
) -> tuple[Row, list[Row]]:
    """Stored rows (transaction version and entries) of a sealed version."""
    row: Row = {
        "ledger_id": version.ledger_id,
        "transaction_id": version.transaction_id,
        "version": version.version,
        "kind": version.kind,
        "status": version.status,
        "pending_transaction_id": version.pending_transaction_id,
        "reverses_transaction_id": version.reverses_transaction_id,
        "effective_ns": version.effective_ns,
        "recorded_ns": version.recorded_ns,
        "idempotency_key": version.idempotency_key,
        "external_id": version.external_id,
        "description": f"payment {version.transaction_id}",
        "metadata": None,
        "meta_hash": None,
        "chain_seq": version.seq,
        "chain_prev_hash": prev,
        "content_hash": content,
        "chain_hash": link,
    }
    legs: list[Row] = [
        {
            "ledger_id": version.ledger_id,
            "transaction_id": version.transaction_id,
            "version": version.version,
            "entry_index": e.index,
            "account_id": e.account_id,
            "asset_id": e.asset_id,
            "direction": e.direction,
            "amount": e.amount,
        }
        for e in version.entries
    ]
    return row, legs


@dataclass
class Chain:
    """Ledgers with their stored rows; every edit works on the dicts in place."""

    ledgers: list[Row] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    legs: list[Row] = field(default_factory=list)
    wide: bool = False

    def copy(self) -> Chain:
        return copy.deepcopy(self)

    def add_ledger(self, ledger_id: str, algorithm: str | None = lach1.ALGORITHM) -> None:
        self.ledgers.append(
            {
                "ledger_id": ledger_id,
                "name": ledger_id,
                "chain_algorithm": algorithm,
                "created_ns": T0,
                "metadata": None,
            }
        )

    def append(self, versions: list[lach1.SealedVersion]) -> None:
        """Seal ``versions`` (one ledger, consecutive seqs) after that ledger's head."""
        ledger_id = versions[0].ledger_id
        head = self.head_row(ledger_id)
        prev = lach1.genesis(ledger_id) if head is None else str(head["chain_hash"])
        for version, (p, content, link) in zip(
            versions, lach1.seal_chain(versions, prev), strict=True
        ):
            row, legs = version_row(version, p, content, link)
            self.rows.append(row)
            self.legs.extend(legs)

    # --- reading ---------------------------------------------------------------------

    def ledger_rows(self, ledger_id: str) -> list[Row]:
        rows = [r for r in self.rows if r["ledger_id"] == ledger_id]
        return sorted(rows, key=lambda r: int(str(r["chain_seq"])))

    def head_row(self, ledger_id: str) -> Row | None:
        rows = [r for r in self.ledger_rows(ledger_id) if r["chain_seq"] is not None]
        return rows[-1] if rows else None

    def at(self, ledger_id: str, seq: int) -> Row:
        (row,) = [r for r in self.rows if r["ledger_id"] == ledger_id and r["chain_seq"] == seq]
        return row

    def legs_of(self, row: Row) -> list[Row]:
        key = (row["ledger_id"], row["transaction_id"], row["version"])
        legs = [e for e in self.legs if (e["ledger_id"], e["transaction_id"], e["version"]) == key]
        return sorted(legs, key=lambda e: int(str(e["entry_index"])))

    def checkpoint(self, ledger_id: str) -> lach1.Checkpoint:
        head = self.head_row(ledger_id)
        assert head is not None
        count = sum(1 for r in self.rows if r["ledger_id"] == ledger_id)
        return lach1.Checkpoint(
            ledger_id, int(str(head["chain_seq"])), str(head["chain_hash"]), count
        )

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        entries = dict(ENTRIES)
        if self.wide:
            entries["amount"] = WIDE_AMOUNT
        return (
            pl.DataFrame(self.rows, schema=TRANSACTIONS, orient="row"),
            pl.DataFrame(self.legs, schema=entries, orient="row"),
            pl.DataFrame(self.ledgers, schema=LEDGERS, orient="row"),
        )

    def verify(
        self, checkpoints: tuple[lach1.Checkpoint, ...] = (), *, reference: bool = False
    ) -> ChainReport:
        transactions, entries, ledgers = self.frames()
        return verify_chain(transactions, entries, ledgers, checkpoints, reference=reference)

    # --- edits -----------------------------------------------------------------------

    def reseal(self, row: Row, prev: str | None = None) -> None:
        """Recompute ``row``'s content and chain hash from its fields (and ``prev`` if given)."""
        if prev is not None:
            row["chain_prev_hash"] = prev
        content = lach1.content_hash(sealed_of(row, self.legs_of(row)))
        row["content_hash"] = content
        row["chain_hash"] = lach1.link_hash(str(row["chain_prev_hash"]), content)

    def reseal_from(self, ledger_id: str, seq: int) -> None:
        """Re-seal every row from ``seq`` on, each after its (re-sealed) predecessor."""
        rows = self.ledger_rows(ledger_id)
        prev = (
            lach1.genesis(ledger_id) if seq == 1 else str(self.at(ledger_id, seq - 1)["chain_hash"])
        )
        for row in rows:
            if int(str(row["chain_seq"])) >= seq:
                self.reseal(row, prev)
                prev = str(row["chain_hash"])

    def delete(self, row: Row) -> None:
        self.rows.remove(row)
        for leg in self.legs_of(row):
            self.legs.remove(leg)

    def add_row(self, version: lach1.SealedVersion, prev: str) -> Row:
        """Store ``version`` sealed after ``prev`` (wherever that is)."""
        content = lach1.content_hash(version)
        row, legs = version_row(version, prev, content, lach1.link_hash(prev, content))
        self.rows.append(row)
        self.legs.extend(legs)
        return row


def found(report: ChainReport) -> Expected:
    """(rule, ledger, chain_seq, transaction_id) of every finding."""
    return {
        (str(rule), str(ledger), seq, tx)
        for rule, ledger, seq, tx in report.findings.select(
            "rule", "ledger_id", "chain_seq", "transaction_id"
        ).iter_rows()
    }


# --- random ledgers ------------------------------------------------------------------------


def random_versions(
    rng: random.Random, ledger_id: str, count: int, *, first_seq: int = 1, wide: bool = False
) -> list[lach1.SealedVersion]:
    """``count`` versions: standard, pending then posted or voided, multi-asset legs."""
    out: list[lach1.SealedVersion] = []
    pending: list[lach1.SealedVersion] = []
    t = T0 + rng.randrange(10**12)
    n = 0
    while len(out) < count:
        seq = first_seq + len(out)
        t += rng.randrange(1, 10**10)
        if pending and rng.random() < 0.4:
            base = pending.pop(rng.randrange(len(pending)))
            status = rng.choice(("posted", "archived"))
            out.append(
                lach1.SealedVersion(
                    ledger_id,
                    seq,
                    base.transaction_id,
                    1,
                    base.kind,
                    status,
                    base.pending_transaction_id,
                    None,
                    base.effective_ns,
                    t,
                    base.idempotency_key,
                    base.external_id,
                    base.entries,
                )
            )
            continue
        n += 1
        legs = []
        for i, asset in enumerate(rng.sample(ASSETS, rng.randrange(1, 3))):
            amount = rng.randrange(1, 10**30 if wide else 10**9)
            legs.append(
                lach1.SealedEntry(2 * i, f"acct:{rng.randrange(20)}", asset, "debit", amount)
            )
            legs.append(
                lach1.SealedEntry(2 * i + 1, f"acct:{rng.randrange(20)}", asset, "credit", amount)
            )
        kind = rng.choice(("standard", "standard", "pending", "reversal", "adjustment"))
        version = lach1.SealedVersion(
            ledger_id,
            seq,
            f"tx-{ledger_id}-{first_seq}-{n:04d}",
            0,
            kind,
            "pending" if kind == "pending" else "posted",
            None,
            f"tx-{ledger_id}-{first_seq}-{n - 1:04d}" if kind == "reversal" and n > 1 else None,
            t - rng.randrange(10**9),
            t,
            rng.choice((None, f"ik-{n}", "")),
            rng.choice((None, f"ext-{n}", 'quote " and \\ and \n')),
            tuple(legs),
        )
        out.append(version)
        if kind == "pending":
            pending.append(version)
    return out


def random_chain(rng: random.Random, ledgers: dict[str, int], *, wide: bool = False) -> Chain:
    """A chain per ledger (``{ledger_id: rows}``), properly sealed."""
    chain = Chain(wide=wide)
    for ledger_id, count in ledgers.items():
        chain.add_ledger(ledger_id)
        chain.append(random_versions(rng, ledger_id, count, wide=wide))
    return chain
