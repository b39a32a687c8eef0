"""``init --adapter``: the starter rules and GL mapping of a vendor ledger, from what it holds.

An adapter needs no ``mapping.toml`` (it is the mapping), but the reconciliation rules and the
GL mapping still name the user's own accounts. They are proposed from the accounts the adapter
read, with the same account-class and bank-account guesses ``init`` makes for a mapped source.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.mapping.account_guess import (
    Accounts,
    bank_accounts,
    class_of_id,
    gl_groups,
    separator_of,
)
from ledger_audit.sources.mapping.proposal import AccountGuess, Proposal


def _class_of(account_id: str, separator: str | None, normal: str | None) -> str | None:
    found = class_of_id(account_id, separator)
    if found is not None:
        return found
    return None if normal is None else ("asset" if normal == "debit" else None)


def propose(adapted: Adapted) -> Proposal:
    """The accounts of ``adapted`` as an ``init`` proposal (no mapping decisions)."""
    frames = adapted.frames
    accounts = frames.accounts.join(
        frames.assets.select("asset_id", "code", "scale"), on="asset_id", how="left"
    ).sort("account_id")
    ids = [str(i) for i in accounts.get_column("account_id").to_list()]
    separator = separator_of(ids)
    guesses = tuple(
        AccountGuess(
            str(row["account_id"]),
            row["name"],
            _class_of(str(row["account_id"]), separator, row["normal_balance"]),
            row["code"],
        )
        for row in accounts.iter_rows(named=True)
    )
    scales = {
        str(code): int(scale)
        for code, scale in frames.assets.select("code", "scale").unique().iter_rows()
        if code is not None and scale is not None
    }
    found = Accounts(guesses, separator, None, None)
    ledger_ids = frames.ledgers.get_column("ledger_id").cast(pl.String).to_list()
    return Proposal(
        source=adapted.report.source,
        ledger_id=str(ledger_ids[0]) if ledger_ids else adapted.adapter,
        sample_rows=frames.accounts.height,
        decisions=(),
        accounts=guesses,
        bank_accounts=bank_accounts(found, scales, with_currency_column=True),
        groups=gl_groups(found),
        scales=tuple(sorted(scales.items())),
    )
