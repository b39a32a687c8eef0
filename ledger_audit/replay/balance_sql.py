"""Balances as of an instant and a period's posted movement, written once in SQLAlchemy Core.

The frames path replays in polars (``replay.balances``, ``replay.events``): on one machine
it is as fast as DuckDB on the same answer (``docs/scale.md``). These statements are the
same definitions for where the data lives: SQLite and PostgreSQL (read-only), DuckDB over
the loaded frames, and Spark (``spark.dialect``). Tests hold every engine's rows equal to
the replay's, so the definitions cannot drift apart.

Every sum is taken over amounts cast to NUMERIC(38, 0): exact in PostgreSQL, DuckDB and
Spark (whose ANSI mode makes an overflow an error); SQLite keeps integers as integers and
raises on a sum past 2**63. A ledger with an amount beyond int64 stays on the frames.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ledger_audit.replay.balances import Basis
from ledger_audit.schema.tables import accounts, entries, transactions
from ledger_audit.spec import Period

MONEY = sa.Numeric(38, 0)
_BASES = ("effective", "recorded")


def _time(basis: Basis) -> sa.ColumnElement[int]:
    if basis not in _BASES:
        msg = f"basis {basis!r} is not effective or recorded"
        raise ValueError(msg)
    column: sa.ColumnElement[int] = transactions.c[f"{basis}_ns"]
    return column


def _amount(condition: sa.ColumnElement[bool], amount: sa.ColumnElement[Any]) -> Any:  # noqa: ANN401 - a SQL expression
    return sa.case((condition, sa.cast(amount, MONEY)), else_=sa.cast(0, MONEY))


def _entries_of(versions: sa.CTE) -> sa.Join:
    """The entries joined to the ``versions`` rows they belong to (ledger, transaction, version)."""
    e, v = entries.c, versions.c
    return entries.join(
        versions,
        sa.and_(
            v.ledger_id == e.ledger_id,
            v.transaction_id == e.transaction_id,
            v.version == e.version,
        ),
    )


def balances_statement(at_ns: int, basis: Basis = "effective") -> sa.Select[Any]:
    """``replay.balances.balances_as_of``: BALANCE_SCHEMA's columns, one row per cell key.

    Per transaction, the latest version whose time on the basis is at or before ``at_ns``
    counts, posted or pending by its status; a pending version another transaction resolved
    by then counts nowhere, nor does an archived one. An account missing from ``accounts``
    is oriented as debit-normal.
    """
    t = transactions.c
    seen = (
        sa.select(
            t.ledger_id,
            t.transaction_id,
            t.version,
            t.status,
            t.pending_transaction_id,
            sa.func.max(t.version)
            .over(partition_by=[t.ledger_id, t.transaction_id])
            .label("latest"),
        )
        .where(_time(basis) <= int(at_ns))
        .cte("seen")
    )
    resolved = (
        sa.select(seen.c.ledger_id, seen.c.pending_transaction_id.label("transaction_id"))
        .where(seen.c.pending_transaction_id.is_not(None))
        .distinct()
        .cte("resolved")
    )
    status = sa.case(
        (sa.and_(resolved.c.transaction_id.is_not(None), seen.c.status == "pending"), "resolved"),
        else_=seen.c.status,
    )
    counting = (
        sa.select(seen.c.ledger_id, seen.c.transaction_id, seen.c.version, status.label("status"))
        .select_from(
            seen.outerjoin(
                resolved,
                sa.and_(
                    resolved.c.ledger_id == seen.c.ledger_id,
                    resolved.c.transaction_id == seen.c.transaction_id,
                ),
            )
        )
        .where(seen.c.version == seen.c.latest)
        .cte("counting")
    )
    e, v = entries.c, counting.c
    posted, debit = v.status == "posted", e.direction == "debit"
    sums = (
        sa.select(
            e.ledger_id,
            e.account_id,
            e.asset_id,
            sa.func.sum(_amount(sa.and_(posted, debit), e.amount)).label("posted_debits"),
            sa.func.sum(_amount(sa.and_(posted, sa.not_(debit)), e.amount)).label("posted_credits"),
            sa.func.sum(_amount(sa.and_(sa.not_(posted), debit), e.amount)).label("pending_debits"),
            sa.func.sum(_amount(sa.and_(sa.not_(posted), sa.not_(debit)), e.amount)).label(
                "pending_credits"
            ),
        )
        .select_from(_entries_of(counting))
        .where(v.status.in_(["posted", "pending"]))
        .group_by(e.ledger_id, e.account_id, e.asset_id)
        .cte("sums")
    )
    a, s = accounts.c, sums.c
    credit = a.normal_balance == "credit"
    posted_balance = sa.case(
        (credit, s.posted_credits - s.posted_debits), else_=s.posted_debits - s.posted_credits
    )
    available = sa.case(
        (credit, posted_balance - s.pending_debits), else_=posted_balance - s.pending_credits
    )
    return sa.select(
        s.ledger_id,
        s.account_id,
        s.asset_id,
        s.posted_debits,
        s.posted_credits,
        s.pending_debits,
        s.pending_credits,
        posted_balance.label("posted"),
        available.label("available"),
    ).select_from(
        sums.outerjoin(accounts, sa.and_(a.ledger_id == s.ledger_id, a.account_id == s.account_id))
    )


def movement_statement(period: Period, basis: Basis = "effective") -> sa.Select[Any]:
    """``period``'s posted ``debits`` and ``credits`` per ledger x account x asset.

    ``replay.events.posted_moves``' definition: a posted version's legs count from its time
    on the basis until the earliest time of a higher version of its transaction (never,
    when none came later; not at all, when one came first); a leg adds its amount where it
    starts counting inside the period and takes it away where it stops inside it.
    """
    t = transactions.c
    start = _time(basis)
    intervals = sa.select(
        t.ledger_id,
        t.transaction_id,
        t.version,
        t.status,
        start.label("start_ns"),
        sa.func.min(start)
        .over(
            partition_by=[t.ledger_id, t.transaction_id],
            order_by=t.version.desc(),
            rows=(None, -1),
        )
        .label("end_ns"),
    ).cte("intervals")
    e, v = entries.c, intervals.c
    counted = (
        sa.select(
            e.ledger_id, e.account_id, e.asset_id, e.direction, e.amount, v.start_ns, v.end_ns
        )
        .select_from(_entries_of(intervals))
        .where(v.status == "posted", sa.or_(v.end_ns.is_(None), v.end_ns > v.start_ns))
        .cte("counted")
    )
    c = counted.c
    first, last = int(period.start_ns), int(period.end_ns) - 1
    starts, ends = c.start_ns.between(first, last), c.end_ns.between(first, last)

    def moved(direction: str) -> Any:  # noqa: ANN401 - a SQL expression
        side = c.direction == direction
        return sa.func.sum(
            _amount(sa.and_(side, starts), c.amount) - _amount(sa.and_(side, ends), c.amount)
        )

    return (
        sa.select(
            c.ledger_id,
            c.account_id,
            c.asset_id,
            moved("debit").label("debits"),
            moved("credit").label("credits"),
        )
        .where(sa.or_(starts, ends))
        .group_by(c.ledger_id, c.account_id, c.asset_id)
    )
