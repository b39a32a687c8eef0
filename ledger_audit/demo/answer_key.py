"""The answer key: what the demo planted, where, and under which rule id.

An auditor's checks run over the demo ledger must report exactly these anomalies and
nothing else. The key is deterministic JSON: an array sorted by (rule, chain_seq), keys
sorted, two-space indent, trailing newline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId

JsonScalar = str | int | None


@dataclass(frozen=True, slots=True)
class PlantedAnomaly:
    """One planted anomaly.

    Attributes:
        rule: the rule that must report it.
        ledger_id: the ledger it is in.
        transaction_id: the transaction version it is about (None for a cached balance).
        version: that version's number.
        chain_seq: its chain position as stored now (for ``chain.deleted`` the missing seq).
        description: one line for a human.
        account_id: the account concerned, where one is.
        asset_id: the asset concerned, where one is.
        other_transaction_id: the other side (the original, the first payment, the successor).
        other_chain_seq: that other row's chain position.
        item_id: a reconciliation break's ledger item(s) (``ledger:transaction:version:entry``,
            several joined by ``;`` for a batch).
        file: a reconciliation break's statement file, relative to the demo directory.
        bank_ref: the bank reference of that break's bank line in ``file``.
    """

    rule: RuleId
    ledger_id: str
    transaction_id: str | None
    version: int | None
    chain_seq: int | None
    description: str
    account_id: str | None = None
    asset_id: str | None = None
    other_transaction_id: str | None = None
    other_chain_seq: int | None = None
    item_id: str | None = None
    file: str | None = None
    bank_ref: str | None = None

    def to_json(self) -> dict[str, JsonScalar]:
        """The JSON object: the six fixed keys always, the optional ones where relevant."""
        obj: dict[str, JsonScalar] = {
            "rule": self.rule.value,
            "ledger_id": self.ledger_id,
            "transaction_id": self.transaction_id,
            "version": self.version,
            "chain_seq": self.chain_seq,
            "description": self.description,
        }
        optional: dict[str, JsonScalar] = {
            "account_id": self.account_id,
            "asset_id": self.asset_id,
            "other_transaction_id": self.other_transaction_id,
            "other_chain_seq": self.other_chain_seq,
            "item_id": self.item_id,
            "file": self.file,
            "bank_ref": self.bank_ref,
        }
        obj.update({k: v for k, v in optional.items() if v is not None})
        return obj

    @classmethod
    def from_json(cls, obj: dict[str, JsonScalar]) -> PlantedAnomaly:
        """Inverse of :meth:`to_json`."""

        def text(key: str) -> str | None:
            value = obj.get(key)
            return value if isinstance(value, str) else None

        def number(key: str) -> int | None:
            value = obj.get(key)
            return value if isinstance(value, int) else None

        return cls(
            rule=RuleId(str(obj["rule"])),
            ledger_id=str(obj["ledger_id"]),
            transaction_id=text("transaction_id"),
            version=number("version"),
            chain_seq=number("chain_seq"),
            description=str(obj["description"]),
            account_id=text("account_id"),
            asset_id=text("asset_id"),
            other_transaction_id=text("other_transaction_id"),
            other_chain_seq=number("other_chain_seq"),
            item_id=text("item_id"),
            file=text("file"),
            bank_ref=text("bank_ref"),
        )

    @property
    def sort_key(self) -> tuple[str, int]:
        """(rule, chain_seq); anomalies without a chain position sort first within a rule."""
        return (self.rule.value, -1 if self.chain_seq is None else self.chain_seq)


def sorted_anomalies(anomalies: Iterable[PlantedAnomaly]) -> tuple[PlantedAnomaly, ...]:
    """The key's order: by rule, then chain position."""
    return tuple(sorted(anomalies, key=lambda a: a.sort_key))


def dump_json(value: object) -> str:
    """Deterministic JSON text: sorted keys, two-space indent, non-ASCII raw, final newline."""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def write_answer_key(path: Path, anomalies: Iterable[PlantedAnomaly]) -> None:
    """Write the key (``[]`` when nothing was planted)."""
    path.write_text(dump_json([a.to_json() for a in sorted_anomalies(anomalies)]), encoding="utf-8")


def read_answer_key(path: Path) -> tuple[PlantedAnomaly, ...]:
    """Read a key written by :func:`write_answer_key`."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}", f"not JSON: {exc.msg}") from exc
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InputError(str(path), "an answer key is a JSON array of objects")
    try:
        return tuple(PlantedAnomaly.from_json(item) for item in raw)
    except (KeyError, ValueError) as exc:
        raise InputError(str(path), f"not an answer key entry: {exc}") from exc
