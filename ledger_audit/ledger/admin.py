"""Ledgers, assets and accounts: the set-up a ledger needs before it can post.

These rows are not sealed (LaaS ledgers let accounts be renamed or closed); the writer reads
them under its lock, so a closed account is refused from the next post on.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from ledger_audit.errors import PostRejected
from ledger_audit.ledger.requests import AccountSpec
from ledger_audit.money import parse_asset_id
from ledger_audit.schema import lach1
from ledger_audit.schema.tables import (
    accounts,
    assets,
    balance_projection,
    chain_heads,
    ledgers,
)

CLOSED_THROUGH_KEY = "closed_through_ns"
"""Key in ``ledgers.metadata``: the last closed instant; nothing may take effect at or before it."""


def create_ledger(
    engine: sa.Engine, ledger_id: str, *, name: str, created_ns: int, chained: bool = True
) -> None:
    """A new, empty ledger with its chain at genesis."""
    with engine.begin() as conn:
        exists = conn.execute(
            sa.select(ledgers.c.ledger_id).where(ledgers.c.ledger_id == ledger_id)
        ).first()
        if exists is not None:
            raise PostRejected("duplicate_ledger", f"ledger {ledger_id!r} already exists")
        conn.execute(
            ledgers.insert().values(
                ledger_id=ledger_id,
                name=name,
                chain_algorithm=lach1.ALGORITHM if chained else None,
                created_ns=created_ns,
                metadata="{}",
            )
        )
        conn.execute(
            chain_heads.insert().values(
                ledger_id=ledger_id, seq=0, head_hash=lach1.genesis(ledger_id), last_recorded_ns=0
            )
        )
        conn.execute(
            balance_projection.insert().values(ledger_id=ledger_id, through_seq=0, as_of_ns=0)
        )


def register_asset(engine: sa.Engine, asset_id: str, *, kind: str = "fiat") -> None:
    """Declare an asset (``CODE/scale``) once; registering it again is a no-op."""
    asset = parse_asset_id(asset_id)
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(assets.c.asset_id).where(assets.c.asset_id == asset_id)
        ).first()
        if row is None:
            conn.execute(
                assets.insert().values(
                    asset_id=asset_id, code=asset.code, scale=asset.scale, kind=kind
                )
            )


def open_accounts(
    engine: sa.Engine, ledger_id: str, specs: list[AccountSpec], *, opened_ns: int
) -> None:
    """Open accounts; an unknown asset or an account id already in use is refused."""
    with engine.begin() as conn:
        known_assets = set(conn.execute(sa.select(assets.c.asset_id)).scalars())
        rows = []
        for spec in specs:
            if spec.asset_id is not None and spec.asset_id not in known_assets:
                raise PostRejected(
                    "unknown_asset",
                    f"account {spec.account_id!r}: asset {spec.asset_id!r} is not registered",
                )
            if spec.normal_balance not in ("debit", "credit"):
                raise PostRejected(
                    "bad_account",
                    f"account {spec.account_id!r}: normal_balance must be debit or credit",
                )
            rows.append(
                {
                    "ledger_id": ledger_id,
                    "account_id": spec.account_id,
                    "name": spec.name or spec.account_id,
                    "normal_balance": spec.normal_balance,
                    "asset_id": spec.asset_id,
                    "allow_negative": spec.allow_negative,
                    "opened_ns": opened_ns,
                    "closed_ns": None,
                    "external_id": spec.external_id,
                    "metadata": json.dumps(dict(spec.metadata)),
                }
            )
        if not rows:
            return
        try:
            conn.execute(accounts.insert(), rows)
        except sa.exc.IntegrityError as exc:
            raise PostRejected(
                "duplicate_account", f"an account id is already in use: {exc.orig}"
            ) from exc


def close_account(engine: sa.Engine, ledger_id: str, account_id: str, *, closed_ns: int) -> None:
    """Close an account: later posts that touch it are refused."""
    with engine.begin() as conn:
        result = conn.execute(
            accounts.update()
            .where(accounts.c.ledger_id == ledger_id, accounts.c.account_id == account_id)
            .values(closed_ns=closed_ns)
        )
        if result.rowcount != 1:
            raise PostRejected(
                "unknown_account", f"no account {account_id!r} in ledger {ledger_id!r}"
            )


def close_period(engine: sa.Engine, ledger_id: str, *, through_ns: int) -> None:
    """Close the books through ``through_ns``: later posts may not take effect at or before it."""
    with engine.begin() as conn:
        raw = conn.execute(
            sa.select(ledgers.c.metadata).where(ledgers.c.ledger_id == ledger_id)
        ).scalar_one_or_none()
        meta: dict[str, object] = json.loads(raw) if raw else {}
        previous = meta.get(CLOSED_THROUGH_KEY)
        if isinstance(previous, int) and previous > through_ns:
            raise PostRejected(
                "period_reopened", f"ledger {ledger_id!r} is already closed through a later instant"
            )
        meta[CLOSED_THROUGH_KEY] = through_ns
        conn.execute(
            ledgers.update()
            .where(ledgers.c.ledger_id == ledger_id)
            .values(metadata=json.dumps(meta))
        )
