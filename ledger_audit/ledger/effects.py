"""What one transaction version does to balances: shared by the write path and the projector.

A version's entries count as posted when its status is ``posted``, as pending when
``pending``, and not at all when ``archived``. A new version of a transaction replaces the
previous one, so its effect is its own contribution minus the previous version's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ledger_audit.ledger.requests import EntrySpec


@dataclass(slots=True)
class BalanceCells:
    """The four stored balance components of one account x asset (mutable accumulator)."""

    posted_debits: int = 0
    posted_credits: int = 0
    pending_debits: int = 0
    pending_credits: int = 0

    def available(self, normal_balance: str) -> int:
        """Posted balance minus pending outflows, oriented by the account's normal balance."""
        if normal_balance == "credit":
            return self.posted_credits - self.posted_debits - self.pending_debits
        return self.posted_debits - self.posted_credits - self.pending_credits

    def apply(self, status: str, direction: str, amount: int) -> None:
        """Add (``amount`` > 0) or remove (``amount`` < 0) one entry of a version."""
        if status == "posted":
            if direction == "debit":
                self.posted_debits += amount
            else:
                self.posted_credits += amount
        elif status == "pending":
            if direction == "debit":
                self.pending_debits += amount
            else:
                self.pending_credits += amount


BalanceKey = tuple[str, str]
"""(account_id, asset_id)."""


def version_delta(
    status: str,
    entries: Iterable[EntrySpec],
    previous: tuple[str, Iterable[EntrySpec]] | None,
) -> dict[BalanceKey, BalanceCells]:
    """The change to each account x asset when a version (replacing ``previous``) is applied."""
    delta: dict[BalanceKey, BalanceCells] = {}
    for entry in entries:
        delta.setdefault((entry.account_id, entry.asset_id), BalanceCells()).apply(
            status, entry.direction, entry.amount
        )
    if previous is not None:
        prev_status, prev_entries = previous
        for entry in prev_entries:
            delta.setdefault((entry.account_id, entry.asset_id), BalanceCells()).apply(
                prev_status, entry.direction, -entry.amount
            )
    return delta
