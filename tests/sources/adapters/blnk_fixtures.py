"""Blnk databases for the adapter's tests: the clean demo once, then a copy per test.

The demo is written once into a template database; each test gets ``CREATE DATABASE ...
TEMPLATE`` (a file copy) and edits it with plain SQL, as someone with database access would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import polars as pl
import psycopg
import sqlalchemy as sa

from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.demo.vendors.blnk import libpq
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.blnk.chain_hash import GENESIS, ChainRow, chain_hash
from ledger_audit.spec import VerifySpec
from ledger_audit.testing.pgserver import DatabaseFactory, unique_database_name


@dataclass(frozen=True, slots=True)
class BlnkCopies:
    """A template database holding the written demo, and how to copy it."""

    server: DatabaseFactory
    template: str

    @contextmanager
    def copy(self, hint: str = "blnk") -> Iterator[str]:
        """A fresh copy of the template; dropped afterwards."""
        name = unique_database_name(hint)
        with psycopg.connect(libpq(self.server.admin_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'.encode())
        try:
            yield (
                sa.make_url(self.server.admin_url)
                .set(database=name)
                .render_as_string(hide_password=False)
            )
        finally:
            self.server.drop_database(name)


def execute(url: str, *statements: str) -> None:
    """Run SQL on ``url`` in one transaction (the tampering under test)."""
    with psycopg.connect(libpq(url)) as conn:
        for statement in statements:
            conn.execute(statement.encode())
        conn.commit()


def rows_of(url: str, sql: str) -> list[tuple[object, ...]]:
    """The rows of a query."""
    with psycopg.connect(libpq(url)) as conn:
        return list(conn.execute(sql.encode()).fetchall())


def chain_row(values: Sequence[object]) -> ChainRow:
    """A ChainRow from a database row: eight text-or-NULL fields, then ``created_at``."""
    text = [None if value is None else str(value) for value in values[:8]]
    return ChainRow(
        transaction_id=str(text[0]),
        source=text[1],
        destination=text[2],
        amount=text[3],
        precise_amount=text[4],
        currency=text[5],
        status=text[6],
        reference=text[7],
        created_at=cast("datetime", values[8]),
    )


def reseal(url: str, *, from_seq: int = 1, state: bool = True) -> None:
    """Recompute Blnk's chain from ``from_seq`` to the head (and chain_state), as a forger would."""
    with psycopg.connect(libpq(url)) as conn:
        rows = conn.execute(
            b"SELECT id, chain_seq, transaction_id, source, destination, amount::text, "
            b"precise_amount::text, currency, status, reference, created_at, chain_prev_hash "
            b"FROM blnk.transactions WHERE chain_seq IS NOT NULL ORDER BY chain_seq"
        ).fetchall()
        head = GENESIS
        updates = []
        for rid, seq, *fields, created, prev in rows:
            if seq < from_seq:
                head = conn.execute(
                    b"SELECT chain_hash FROM blnk.transactions WHERE id = %s", (rid,)
                ).fetchone()[0]  # type: ignore[index]
                continue
            del prev
            new = chain_hash(head, chain_row([*fields, created]))
            updates.append((head, new, rid))
            head = new
        with conn.cursor() as cur:
            cur.executemany(
                b"UPDATE blnk.transactions SET chain_prev_hash = %s, chain_hash = %s WHERE id = %s",
                updates,
            )
        if state:
            conn.execute(b"UPDATE blnk.chain_state SET head_hash = %s", (head,))
        conn.commit()


def audited(adapted: Adapted, url: str) -> AuditResult:
    """The catalogue plus the adapter's own checks over what it read."""
    return audit(
        adapted.frames,
        adapted.report,
        VerifySpec(source=url),
        native=adapted.native,
    )


def rules_of(findings: pl.DataFrame) -> dict[str, int]:
    """Finding counts per rule."""
    return dict(findings.group_by("rule").len().sort("rule").iter_rows())
