"""A small two-currency ledger, written in the tests' own terms."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from ledger_audit.ledger import admin
from ledger_audit.ledger.engine import open_writer_engine
from ledger_audit.ledger.requests import AccountSpec, EntrySpec
from ledger_audit.ledger.writer import LedgerWriter

T0 = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z

ACCOUNTS = (
    AccountSpec("assets:bank:usd", "debit", "USD/2"),
    AccountSpec("assets:bank:eur", "debit", "EUR/2"),
    AccountSpec("liabilities:wallet:alice", "credit", "USD/2", allow_negative=False),
    AccountSpec("liabilities:wallet:bob", "credit", "USD/2", allow_negative=False),
    AccountSpec("liabilities:wallet:alice:eur", "credit", "EUR/2", allow_negative=False),
    AccountSpec("revenue:fees", "credit", "USD/2"),
    AccountSpec("equity:conversion", "credit", None),
)


class Clock:
    """A settable clock, so recorded times are known to the test."""

    def __init__(self, start: int = T0) -> None:
        self.now = start

    def __call__(self) -> int:
        self.now += 1_000_000_000
        return self.now


def make_ledger(url: str, ledger_id: str = "t") -> tuple[sa.Engine, LedgerWriter]:
    engine = open_writer_engine(url, create=True)
    admin.create_ledger(engine, ledger_id, name="test", created_ns=T0)
    admin.register_asset(engine, "USD/2")
    admin.register_asset(engine, "EUR/2")
    admin.open_accounts(engine, ledger_id, list(ACCOUNTS), opened_ns=T0)
    return engine, LedgerWriter(engine, ledger_id, clock=Clock())


def leg(account: str, direction: str, amount: int, asset: str = "USD/2") -> EntrySpec:
    return EntrySpec(account, asset, direction, amount)  # type: ignore[arg-type]


def move(debit: str, credit: str, amount: int, asset: str = "USD/2") -> tuple[EntrySpec, ...]:
    return (leg(debit, "debit", amount, asset), leg(credit, "credit", amount, asset))


@pytest.fixture
def ledger(sqlite_url: str) -> Iterator[tuple[sa.Engine, LedgerWriter]]:
    engine, writer = make_ledger(sqlite_url)
    yield engine, writer
    engine.dispose()


def count_rows(engine: sa.Engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
            for t in ("transactions", "entries", "idempotency_keys")
        )


LedgerFactory = Callable[[str], tuple[sa.Engine, LedgerWriter]]
