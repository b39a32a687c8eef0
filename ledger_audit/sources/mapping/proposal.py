"""What ``init`` proposes: a mapping as decisions, each with how sure it is and why.

A :class:`Proposal` is a value: ``exports.setup_files`` writes it as ``mapping.toml``,
``rules.toml`` and ``gl-mapping.toml``, and the CLI prints one line per decision. An
undecided key carries the placeholder :data:`FILL_IN`, which every reader refuses with the
reason written beside it, so a starter file cannot be audited until a person decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeAlias

from ledger_audit.sources.fill_in import FILL_IN

__all__ = [
    "FILL_IN",
    "AccountGroup",
    "AccountGuess",
    "BankAccountGuess",
    "Confidence",
    "Decision",
    "Inline",
    "Proposal",
    "Value",
]


class Confidence(StrEnum):
    """How a decision was reached."""

    SURE = "sure"
    """Known names and types, or values that leave no doubt."""
    GUESSED = "guessed"
    """Inferred from the sample or from a convention: check it."""
    UNDECIDED = "undecided"
    """Not decided: the file holds ``FILL-IN`` and the reason."""


@dataclass(frozen=True, slots=True)
class Inline:
    """A TOML inline table, its pairs in writing order."""

    items: tuple[tuple[str, Value], ...]

    def get(self, key: str) -> Value | None:
        """The value of ``key``, or None."""
        return next((value for name, value in self.items if name == key), None)


Value: TypeAlias = "str | int | bool | Inline"


@dataclass(frozen=True, slots=True)
class Decision:
    """One key of the mapping.

    Attributes:
        key: dotted, ``section.key`` (``entries.amount``); a top-level key has no dot.
        value: what to write; None leaves the key out (the reason is written as a comment).
        confidence: sure, guessed, or undecided (then ``value`` holds ``FILL-IN``).
        reason: what was found, in one line.
    """

    key: str
    value: Value | None
    confidence: Confidence
    reason: str

    @property
    def section(self) -> str:
        """The TOML table (``""`` for a top-level key)."""
        return self.key.rpartition(".")[0]

    @property
    def name(self) -> str:
        """The key inside its table."""
        return self.key.rpartition(".")[2]


@dataclass(frozen=True, slots=True)
class AccountGuess:
    """An account seen in the sample, and what its names say about it.

    Attributes:
        account_id: as the entries name it.
        name: its name in the accounts relation, if any.
        account_class: asset, liability, equity, revenue or expense; None when unknown.
        currency: its currency code (the accounts relation's, else the entries'), if one.
    """

    account_id: str
    name: str | None
    account_class: str | None
    currency: str | None


@dataclass(frozen=True, slots=True)
class BankAccountGuess:
    """A ledger account that looks like the mirror of a bank account.

    Attributes:
        account_id: the ledger account.
        asset_id: ``CODE/scale`` when its currency and scale are known, else None.
        reason: why it looks like one.
    """

    account_id: str
    asset_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class AccountGroup:
    """A GL starter rule: a glob over account ids and the class it belongs to.

    Attributes:
        pattern: ``assets:*`` for a prefix, or one account id.
        account_class: asset, liability, equity, revenue, expense; None when unknown.
        accounts: how many sampled accounts it covers.
    """

    pattern: str
    account_class: str | None
    accounts: int


@dataclass(frozen=True, slots=True)
class Proposal:
    """A starter mapping of one source.

    Attributes:
        source: the source as reports name it (no password).
        ledger_id: the proposed ledger id.
        sample_rows: rows sampled per relation.
        decisions: in the order the mapping file lists them.
        accounts: the accounts seen, by id.
        bank_accounts: the bank-like ones, by id.
        groups: GL starter rules, narrow before broad.
        scales: currency code -> scale, of the codes whose scale is known.
        unused: the relations of the source the mapping does not read, sorted.
    """

    source: str
    ledger_id: str
    sample_rows: int
    decisions: tuple[Decision, ...]
    accounts: tuple[AccountGuess, ...] = ()
    bank_accounts: tuple[BankAccountGuess, ...] = ()
    groups: tuple[AccountGroup, ...] = ()
    scales: tuple[tuple[str, int], ...] = ()
    unused: tuple[str, ...] = ()

    def decision(self, key: str) -> Decision:
        """The decision on ``key``; KeyError when there is none."""
        for decision in self.decisions:
            if decision.key == key:
                return decision
        raise KeyError(key)

    def value(self, key: str) -> Value | None:
        """The proposed value of ``key`` (None when left out or absent)."""
        try:
            return self.decision(key).value
        except KeyError:
            return None

    @property
    def undecided(self) -> tuple[Decision, ...]:
        """The decisions a person must take before the mapping is accepted."""
        return tuple(d for d in self.decisions if d.confidence == Confidence.UNDECIDED)
