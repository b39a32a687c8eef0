"""The source mapping as frozen records: what ``mapping.toml`` says, checked and located.

Every field remembers its key (``entries.amount``) and its place (``mapping.toml:14``), so
that an error about it, found while parsing or while checking the source's catalogue, names
both. The format is documented in ``docs/mapping.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ledger_audit.sources.mapping.relations import RelationRef

FORMAT = "ledger-audit/mapping/1"

CANONICAL_VALUES: dict[str, frozenset[str]] = {
    "status": frozenset({"pending", "posted", "archived"}),
    "kind": frozenset(
        {
            "standard",
            "pending",
            "post_pending",
            "void_pending",
            "reversal",
            "adjustment",
            "opening",
        }
    ),
    "direction": frozenset({"debit", "credit"}),
    "normal_balance": frozenset({"debit", "credit"}),
}
"""The canonical words of each value-mapped field: a map must land on one of them."""


class FieldKind(StrEnum):
    """How a field's values are read."""

    TEXT = "text"
    ENUM = "enum"
    AMOUNT = "amount"
    TIME = "time"
    INTEGER = "integer"
    BOOLEAN = "boolean"


@dataclass(frozen=True, slots=True)
class Field:
    """One canonical field: a source column or a constant, and how to read it.

    Attributes:
        key: the dotted mapping key (``entries.amount``), for messages.
        where: ``file:line`` of the key.
        kind: how values are read.
        column: the source column, or None for a constant.
        value: the constant (text, integer or boolean) when ``column`` is None.
        value_map: ENUM: source value -> canonical value (empty: values are canonical).
        prefixes: ENUM on account ids: (prefix, value) pairs, longest first.
        default: ENUM: the value when no map entry or prefix matches (None: rejected).
        units: AMOUNT: ``minor`` or ``major``.
        sign: AMOUNT: ``debit_positive``, ``credit_positive`` or None (unsigned).
        allow_float: AMOUNT: a float column was accepted by opt-in.
        epoch: TIME: unit of integer times (s, ms, us, ns), or None.
        timezone: TIME: the zone of naive times (the ledger's unless given).
    """

    key: str
    where: str
    kind: FieldKind
    column: str | None = None
    value: str | int | bool | None = None
    value_map: tuple[tuple[str, str], ...] = ()
    prefixes: tuple[tuple[str, str], ...] = ()
    default: str | None = None
    units: str = "minor"
    sign: str | None = None
    allow_float: bool = False
    epoch: str | None = None
    timezone: str | None = None


class EntryShape(StrEnum):
    """How the entries relation holds legs."""

    ENTRY = "entry"
    TRANSFER = "transfer"


class TransactionShape(StrEnum):
    """How the transactions relation holds versions."""

    ROW = "row"
    VERSIONED = "versioned"
    HISTORY = "history"


@dataclass(frozen=True, slots=True)
class Section:
    """What every section has: its name, its place and the relation it reads."""

    name: str
    where: str
    relation: RelationRef


@dataclass(frozen=True, slots=True)
class LedgerSpec:
    """``[ledger]``: the ledger this mapping reads (the default of every ``ledger_id``)."""

    id: str
    name: str | None
    timezone: str | None
    closed_through_ns: int | None
    where: str


@dataclass(frozen=True, slots=True)
class AssetsSpec:
    """``[assets]``: currency code -> scale, fixed, per code, or from a relation."""

    where: str
    scale: int | None = None
    scales: tuple[tuple[str, int], ...] = ()
    section: Section | None = None
    code: Field | None = None
    scale_field: Field | None = None
    kind: str = "currency"


@dataclass(frozen=True, slots=True)
class AccountsSpec:
    """``[accounts]``: a relation of accounts, or accounts derived from the entries."""

    where: str
    normal_balance: Field
    section: Section | None = None
    id: Field | None = None
    name: Field | None = None
    currency: Field | None = None
    allow_negative: Field | None = None
    opened_at: Field | None = None
    closed_at: Field | None = None
    external_id: Field | None = None
    metadata: Field | None = None
    ledger_id: Field | None = None


@dataclass(frozen=True, slots=True)
class HistorySpec:
    """``[transactions.history]``: one row per status change."""

    section: Section
    transaction_id: Field
    status: Field
    at: Field
    order: Field | None = None
    ledger_id: Field | None = None


@dataclass(frozen=True, slots=True)
class ChainSpec:
    """``[chain]``: the LACH-1 columns on the transactions relation."""

    where: str
    algorithm: str
    seq: Field
    prev_hash: Field
    content_hash: Field
    hash: Field
    meta_hash: Field | None = None


@dataclass(frozen=True, slots=True)
class TransactionsSpec:
    """``[transactions]``: ids, statuses, times and keys of transactions."""

    section: Section
    shape: TransactionShape
    id: Field
    status: Field
    recorded_at: Field
    version: Field | None = None
    kind: Field | None = None
    effective_at: Field | None = None
    pending_id: Field | None = None
    reverses_id: Field | None = None
    idempotency_key: Field | None = None
    external_id: Field | None = None
    description: Field | None = None
    metadata: Field | None = None
    history: HistorySpec | None = None
    ledger_id: Field | None = None


@dataclass(frozen=True, slots=True)
class EntriesSpec:
    """``[entries]``: legs, one per row or two per transfer row."""

    section: Section
    shape: EntryShape
    amount: Field
    currency: Field
    transaction_id: Field | None = None
    row_id: Field | None = None
    version: Field | None = None
    index: Field | None = None
    account: Field | None = None
    direction: Field | None = None
    debit_account: Field | None = None
    credit_account: Field | None = None
    ledger_id: Field | None = None


@dataclass(frozen=True, slots=True)
class BalancesSpec:
    """``[balances]``: the ledger's stored balances."""

    section: Section
    account: Field
    currency: Field
    posted_debits: Field
    posted_credits: Field
    pending_debits: Field
    pending_credits: Field
    as_of: Field
    lock_version: Field | None = None
    ledger_id: Field | None = None


@dataclass(frozen=True, slots=True)
class SourceMapping:
    """A whole mapping file, checked for form (not yet against a source)."""

    path: Path
    ledger: LedgerSpec
    assets: AssetsSpec
    accounts: AccountsSpec
    transactions: TransactionsSpec
    entries: EntriesSpec
    balances: BalancesSpec | None
    chain: ChainSpec | None

    def sections(self) -> tuple[Section, ...]:
        """Every section that reads a relation, in reading order."""
        found = [
            self.assets.section,
            self.accounts.section,
            self.transactions.section,
            None if self.transactions.history is None else self.transactions.history.section,
            self.entries.section,
            None if self.balances is None else self.balances.section,
        ]
        return tuple(s for s in found if s is not None)
