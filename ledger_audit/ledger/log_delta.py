"""Reading the log back: the legs of given transactions, and balance changes of a span.

The projector folds long spans of the log this way, in one grouped query: a version adds
its entries and takes away those of the version it replaces. (The writer's catch-up spans
are a handful of rows, which indexed lookups serve faster: see ``LedgerWriter``.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import sqlalchemy as sa

from ledger_audit.ledger.effects import BalanceCells, BalanceKey
from ledger_audit.ledger.requests import EntrySpec
from ledger_audit.schema.tables import entries, same_version, transactions

IN_CHUNK = 500
"""Values per ``IN (...)`` list: well under every driver's bound-parameter limit."""


def chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    """``values`` in slices of at most :data:`IN_CHUNK`."""
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def read_legs(
    conn: sa.Connection, ledger_id: str, transaction_ids: Sequence[str]
) -> dict[tuple[str, int], list[EntrySpec]]:
    """Entries of every version of these transactions, by (transaction, version), in order."""
    legs: dict[tuple[str, int], list[EntrySpec]] = {}
    for chunk in chunks(transaction_ids):
        for e in conn.execute(
            sa.select(
                entries.c.transaction_id,
                entries.c.version,
                entries.c.account_id,
                entries.c.asset_id,
                entries.c.direction,
                entries.c.amount,
            )
            .where(entries.c.ledger_id == ledger_id, entries.c.transaction_id.in_(chunk))
            .order_by(entries.c.transaction_id, entries.c.version, entries.c.entry_index)
        ):
            legs.setdefault((e.transaction_id, int(e.version)), []).append(
                EntrySpec(e.account_id, e.asset_id, e.direction, int(e.amount))
            )
    return legs


def log_delta(
    conn: sa.Connection,
    ledger_id: str,
    low: int,
    high: int,
    account_ids: Sequence[str] | None = None,
) -> dict[BalanceKey, BalanceCells]:
    """The change to each account x asset made by versions sealed at seq in (low, high]."""
    delta = _sums(conn, ledger_id, (low, high), account_ids, previous=False)
    for key, cells in _sums(conn, ledger_id, (low, high), account_ids, previous=True).items():
        target = delta.setdefault(key, BalanceCells())
        target.posted_debits -= cells.posted_debits
        target.posted_credits -= cells.posted_credits
        target.pending_debits -= cells.pending_debits
        target.pending_credits -= cells.pending_credits
    return delta


def _sums(
    conn: sa.Connection,
    ledger_id: str,
    span: tuple[int, int],
    account_ids: Sequence[str] | None,
    *,
    previous: bool,
) -> dict[BalanceKey, BalanceCells]:
    """Entry sums of versions sealed in (low, high], or of the versions they replace."""
    new = transactions.alias("new")
    joined: sa.FromClause
    if previous:
        source = transactions.alias("prev")
        joined = new.join(
            source,
            sa.and_(
                source.c.ledger_id == new.c.ledger_id,
                source.c.transaction_id == new.c.transaction_id,
                source.c.version == new.c.version - 1,
            ),
        )
    else:
        source = new
        joined = new
    joined = joined.join(entries, same_version(entries, source))
    query = (
        sa.select(
            entries.c.account_id,
            entries.c.asset_id,
            source.c.status,
            entries.c.direction,
            sa.func.sum(entries.c.amount).label("total"),
        )
        .select_from(joined)
        .where(
            new.c.ledger_id == ledger_id,
            new.c.chain_seq > span[0],
            new.c.chain_seq <= span[1],
            source.c.status.in_(("posted", "pending")),
            *(() if account_ids is None else (entries.c.account_id.in_(account_ids),)),
        )
        .group_by(entries.c.account_id, entries.c.asset_id, source.c.status, entries.c.direction)
    )
    out: dict[BalanceKey, BalanceCells] = {}
    for row in conn.execute(query):
        out.setdefault((row.account_id, row.asset_id), BalanceCells()).apply(
            row.status, row.direction, int(row.total)
        )
    return out
