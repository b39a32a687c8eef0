"""Plant known anomalies in the demo ledger, each one breaking exactly one rule.

Three kinds of damage, in this order:

a. A buggy job: versions sealed properly through ``append_versions`` (no business checks)
   that break an invariant: an idempotency key reused for another payload, a reversal that
   is not the inverse of its original, an adjustment backdated into the closed month, and a
   withdrawal that overdraws a no-negative wallet; plus, through the real writer, a P2P
   payment submitted twice under two keys. Then the projector folds them into the cache.
b. An attacker with DDL rights (append-only triggers dropped) edits posted single-version
   fee transactions in place: tampered, deleted, reordered, re-sealed. The nightly rebuild
   then makes the cached balances match the edited log, and the triggers are put back.
c. A direct edit of one wallet's cached balance after the rebuild (drift).

Targets are chosen from the seed, far apart in the chain, each on its own wallet, so an
auditor's checks must report exactly the answer key.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa

from ledger_audit.demo.answer_key import PlantedAnomaly
from ledger_audit.demo.jet_plant import JetPlant, plant_jet
from ledger_audit.demo.scenario import (
    ADJUSTMENTS,
    BANK,
    FEE_REVENUE,
    HOUR,
    LEDGER_ID,
    MINUTE,
    USD,
    WALLET_PREFIX,
    Month,
)
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.ledger.log_delta import read_legs
from ledger_audit.ledger.projector import project_balances, rebuild_balances
from ledger_audit.ledger.requests import EntrySpec, PostResult, PostTransaction
from ledger_audit.ledger.sealing import NewVersion, SealedRow, append_versions, lock_head
from ledger_audit.ledger.writer import LedgerWriter
from ledger_audit.money import format_amount
from ledger_audit.schema import lach1
from ledger_audit.schema.ddl import drop_append_only_triggers, restore_append_only_triggers
from ledger_audit.schema.tables import balances, entries, transactions
from ledger_audit.schema.times import ns_to_iso

T = TypeVar("T")

# Where in the chain (fraction of the head seq) each target is looked for.
_TAMPERED_AT = 0.20
_DELETED_AT = 0.35
_REORDERED_AT = 0.50
_RESEALED_AT = 0.65
_DEPOSIT_AT = 0.42  # between the deleted row and the reordered pair
_REVERSED_FEE_AT = 0.80
_WIDTHS = (0.01, 0.03, 0.07, 0.12)  # half-widths of the search window, tried in turn
_MIN_GAP = 3  # rows between any two chain targets (and their successors)
_MIN_HALF_WIDTH = 30
_TWO_LEGS = 2
_MIN_FEE = 2  # still positive after lowering by 1
_DUPLICATE_FUNDS = 6_000  # the sender can pay the duplicate twice, with room to spare
_OVERDRAFT_FROM = 1_000  # the overdrawn wallet held at least 10.00 before


@dataclass(frozen=True, slots=True)
class _Row:
    """A stored transaction version with its entries (as the attacker reads it)."""

    seq: int
    transaction_id: str
    version: int
    kind: str
    status: str
    idempotency_key: str | None
    external_id: str | None
    legs: tuple[EntrySpec, ...]


@dataclass(frozen=True, slots=True)
class _Targets:
    """The existing rows the anomalies point at, chosen before anything is planted."""

    deposit: _Row
    reversed_fee: _Row
    tampered: _Row
    deleted: _Row
    pair: tuple[_Row, _Row]
    resealed: _Row


@dataclass(frozen=True, slots=True)
class _Wallet:
    """A USD wallet's cached balance cells."""

    account_id: str
    posted_debits: int
    posted_credits: int
    pending_debits: int
    pending_credits: int

    @property
    def posted(self) -> int:
        return self.posted_credits - self.posted_debits

    @property
    def available(self) -> int:
        return self.posted - self.pending_debits


class _Planter:
    """Chooses targets (recording the wallets they touch) and writes the damage."""

    def __init__(self, engine: sa.Engine, seed: int, month: Month) -> None:
        self.engine = engine
        self.month = month
        self.rng = random.Random(f"ledger-audit demo plant {seed}")  # noqa: S311 - a simulation
        self.used: set[str] = set()
        self.claimed: set[int] = set()
        self.found: list[PlantedAnomaly] = []
        self.jet: list[JetPlant] = []

    # --- reading ------------------------------------------------------------------------

    def head_seq(self) -> int:
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.max(transactions.c.chain_seq)).where(
                    transactions.c.ledger_id == LEDGER_ID
                )
            ).scalar_one()
        return int(value or 0)

    def rows(self, low: int, high: int) -> list[_Row]:
        """Versions with chain_seq in [low, high], in chain order, with their entries."""
        tx = transactions
        with self.engine.connect() as conn:
            heads = conn.execute(
                sa.select(
                    tx.c.chain_seq,
                    tx.c.transaction_id,
                    tx.c.version,
                    tx.c.kind,
                    tx.c.status,
                    tx.c.idempotency_key,
                    tx.c.external_id,
                )
                .where(tx.c.ledger_id == LEDGER_ID, tx.c.chain_seq.between(low, high))
                .order_by(tx.c.chain_seq)
            ).all()
            ids = sorted({str(r.transaction_id) for r in heads})
            legs = read_legs(conn, LEDGER_ID, ids)
        return [
            _Row(
                seq=int(r.chain_seq),
                transaction_id=str(r.transaction_id),
                version=int(r.version),
                kind=str(r.kind),
                status=str(r.status),
                idempotency_key=r.idempotency_key,
                external_id=r.external_id,
                legs=tuple(legs.get((str(r.transaction_id), int(r.version)), ())),
            )
            for r in heads
        ]

    def single_unreversed(self, ids: Sequence[str]) -> set[str]:
        """Of ``ids``: those with exactly one version that no reversal points at."""
        tx = transactions
        with self.engine.connect() as conn:
            counts = {
                str(r[0]): int(r[1])
                for r in conn.execute(
                    sa.select(tx.c.transaction_id, sa.func.count())
                    .where(tx.c.ledger_id == LEDGER_ID, tx.c.transaction_id.in_(list(ids)))
                    .group_by(tx.c.transaction_id)
                )
            }
            reversed_ids = {
                str(r[0])
                for r in conn.execute(
                    sa.select(tx.c.reverses_transaction_id).where(
                        tx.c.ledger_id == LEDGER_ID,
                        tx.c.reverses_transaction_id.in_(list(ids)),
                    )
                )
            }
        return {i for i in ids if counts.get(i) == 1 and i not in reversed_ids}

    def wallets(self) -> list[_Wallet]:
        """Every USD wallet's cached balance, by account id."""
        with self.engine.connect() as conn:
            return [
                _Wallet(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]))
                for r in conn.execute(
                    sa.select(
                        balances.c.account_id,
                        balances.c.posted_debits,
                        balances.c.posted_credits,
                        balances.c.pending_debits,
                        balances.c.pending_credits,
                    )
                    .where(
                        balances.c.ledger_id == LEDGER_ID,
                        balances.c.asset_id == USD,
                        balances.c.account_id.like(f"{WALLET_PREFIX}%"),
                    )
                    .order_by(balances.c.account_id)
                )
            ]

    # --- choosing -----------------------------------------------------------------------

    def near(self, fraction: float, what: str, pick: Callable[[list[_Row]], list[T]]) -> T:
        """A seeded choice among the candidates ``pick`` finds near ``fraction`` of the chain."""
        head = self.head_seq()
        centre = round(head * fraction)
        for width in _WIDTHS:
            half = max(_MIN_HALF_WIDTH, round(head * width))
            found = pick(self.rows(max(1, centre - half), min(head, centre + half)))
            if found:
                return self.rng.choice(found)
        raise InputError(
            "transactions",
            f"too few transactions to plant {what} near {fraction:.0%} of the chain "
            "(use more transactions, or a clean demo)",
        )

    def fees(self, rows: list[_Row]) -> list[_Row]:
        """Posted single-version fee transactions on unused wallets, amount at least 2."""
        shaped = [
            r
            for r in rows
            if _is_fee(r)
            and r.legs[0].account_id not in self.used
            and all(abs(r.seq - seq) > _MIN_GAP for seq in self.claimed)
        ]
        keep = self.single_unreversed([r.transaction_id for r in shaped])
        return [r for r in shaped if r.transaction_id in keep]

    def wallet(self, accept: Callable[[_Wallet], bool], what: str) -> _Wallet:
        """A seeded choice among unused USD wallets that ``accept``; it becomes used."""
        found = [w for w in self.wallets() if w.account_id not in self.used and accept(w)]
        if not found:
            raise InputError(
                "transactions", f"no wallet suitable for {what} (use more transactions)"
            )
        chosen = self.rng.choice(found)
        self.used.add(chosen.account_id)
        return chosen

    def take(self, row: _Row) -> _Row:
        """Claim a target row: its wallet and its place in the chain."""
        self.used.add(row.legs[0].account_id if _is_fee(row) else row.legs[1].account_id)
        self.claimed.add(row.seq)
        return row

    def key(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def append(self, version: NewVersion, at_ns: int) -> SealedRow:
        """Seal one version after the head, the way a buggy job would (no checks)."""
        with self.engine.begin() as conn:
            head = lock_head(conn, LEDGER_ID)
            _, sealed = append_versions(conn, LEDGER_ID, head, [version], lambda: at_ns)
        return sealed[0]

    def add(self, anomaly: PlantedAnomaly) -> None:
        self.found.append(anomaly)

    # --- a. the buggy job ---------------------------------------------------------------

    def choose_rows(self) -> _Targets:
        """Pick every target row from the month as written, the scarcest kind first."""
        first, second = self.near(_REORDERED_AT, "a reordered pair", self._adjacent_fees)
        self.take(first)
        self.take(second)
        deleted = self.take(self.near(_DELETED_AT, "a deleted row", self.fees))
        tampered = self.take(self.near(_TAMPERED_AT, "a tampered row", self.fees))
        resealed = self.take(self.near(_RESEALED_AT, "a re-sealed row", self.fees))
        reversed_fee = self.take(self.near(_REVERSED_FEE_AT, "a wrong reversal", self.fees))
        deposit = self.take(self.near(_DEPOSIT_AT, "an idempotency conflict", self._deposits))
        return _Targets(deposit, reversed_fee, tampered, deleted, (first, second), resealed)

    def idempotency_conflict(self, deposit: _Row) -> None:
        clearing, credited = deposit.legs
        original, asset, wallet = credited.amount, credited.asset_id, credited.account_id
        amount = original + self.rng.randrange(100, 5_001)
        tx_id = f"tx-{self.key()}"
        sealed = self.append(
            NewVersion(
                transaction_id=tx_id,
                version=0,
                kind="standard",
                status="posted",
                entries=_move(clearing.account_id, wallet, amount, asset),
                idempotency_key=deposit.idempotency_key,
                description="Deposit (re-imported by the nightly job)",
                metadata=(("event", "deposit"),),
            ),
            self.month.end_ns - 55 * MINUTE,
        )
        self.add(
            PlantedAnomaly(
                rule=RuleId.IDEMPOTENCY_CONFLICT,
                ledger_id=LEDGER_ID,
                transaction_id=tx_id,
                version=0,
                chain_seq=sealed.seq,
                description=(
                    f"idempotency key {deposit.idempotency_key} of deposit "
                    f"{deposit.transaction_id} (seq {deposit.seq}, "
                    f"{format_amount(original, asset)}) reused for another transaction of "
                    f"{format_amount(amount, asset)}"
                ),
                account_id=wallet,
                asset_id=asset,
                other_transaction_id=deposit.transaction_id,
                other_chain_seq=deposit.seq,
            )
        )

    def _deposits(self, rows: list[_Row]) -> list[_Row]:
        return [
            r
            for r in rows
            if r.kind == "pending"
            and r.version == 0
            and (r.external_id or "").startswith(("ach-", "sepa-"))
            and r.idempotency_key is not None
            and len(r.legs) == _TWO_LEGS
            and r.legs[1].account_id not in self.used
            and all(abs(r.seq - seq) > _MIN_GAP for seq in self.claimed)
        ]

    def reversal_not_inverse(self, fee: _Row) -> None:
        wallet, amount = fee.legs[0].account_id, fee.legs[0].amount
        tx_id = f"tx-{self.key()}"
        sealed = self.append(
            NewVersion(
                transaction_id=tx_id,
                version=0,
                kind="reversal",
                status="posted",
                entries=_move(FEE_REVENUE, wallet, amount - 1),
                reverses_transaction_id=fee.transaction_id,
                idempotency_key=self.key(),
                description="Fee refund",
                metadata=(("event", "fee_refund"),),
            ),
            self.month.end_ns - 50 * MINUTE,
        )
        self.add(
            PlantedAnomaly(
                rule=RuleId.REVERSAL_NOT_INVERSE,
                ledger_id=LEDGER_ID,
                transaction_id=tx_id,
                version=0,
                chain_seq=sealed.seq,
                description=(
                    f"reversal of fee {fee.transaction_id} (seq {fee.seq}, {_usd(amount)}) "
                    f"moves {_usd(amount - 1)} on both legs"
                ),
                account_id=wallet,
                asset_id=USD,
                other_transaction_id=fee.transaction_id,
                other_chain_seq=fee.seq,
            )
        )

    def backdated_adjustment(self) -> None:
        wallet = self.wallet(lambda w: w.posted_credits > 0, "a backdated adjustment").account_id
        amount = self.rng.randrange(1_000, 5_001)
        effective = self.month.start_ns - 9 * HOUR
        recorded = self.month.end_ns - 45 * MINUTE
        tx_id = f"tx-{self.key()}"
        sealed = self.append(
            NewVersion(
                transaction_id=tx_id,
                version=0,
                kind="adjustment",
                status="posted",
                entries=_move(ADJUSTMENTS["usd"], wallet, amount),
                effective_ns=effective,
                idempotency_key=self.key(),
                description="Goodwill credit (backdated)",
                metadata=(("event", "adjustment"),),
            ),
            recorded,
        )
        self.add(
            PlantedAnomaly(
                rule=RuleId.PERIOD_BACKDATED,
                ledger_id=LEDGER_ID,
                transaction_id=tx_id,
                version=0,
                chain_seq=sealed.seq,
                description=(
                    f"adjustment of {_usd(amount)} effective {ns_to_iso(effective)}, inside the "
                    f"period closed through {ns_to_iso(self.month.closed_through_ns)}, "
                    f"recorded {ns_to_iso(sealed.recorded_ns)}"
                ),
                account_id=wallet,
                asset_id=USD,
            )
        )

    def duplicate_payment(self) -> None:
        sender = self.wallet(lambda w: w.available >= _DUPLICATE_FUNDS, "a duplicate payment")
        receiver = self.wallet(lambda _: True, "a duplicate payment").account_id
        amount = self.rng.randrange(2_000, min(20_000, (sender.available - 1_000) // 2) + 1)
        legs = _move(sender.account_id, receiver, amount)
        external = f"p2p-{self.rng.getrandbits(48):012x}"
        first_at = self.month.end_ns - 40 * MINUTE
        times = iter((first_at, first_at + MINUTE))
        writer = LedgerWriter(self.engine, LEDGER_ID, clock=lambda: next(times))
        results: list[PostResult] = [
            writer.submit(
                PostTransaction(
                    idempotency_key=self.key(),
                    entries=legs,
                    external_id=external,
                    description="P2P payment",
                    metadata=(("event", "p2p"),),
                )
            )
            for _ in range(2)
        ]
        first, second = results
        self.add(
            PlantedAnomaly(
                rule=RuleId.PAYMENT_DUPLICATE_SUSPECTED,
                ledger_id=LEDGER_ID,
                transaction_id=second.transaction_id,
                version=0,
                chain_seq=second.chain_seq,
                description=(
                    f"P2P payment of {_usd(amount)} from {sender.account_id} to {receiver} "
                    f"with external id {external} submitted again under another idempotency "
                    f"key, 60 s after {first.transaction_id}"
                ),
                account_id=sender.account_id,
                asset_id=USD,
                other_transaction_id=first.transaction_id,
                other_chain_seq=first.chain_seq,
            )
        )

    def negative_balance(self) -> None:
        wallet = self.wallet(
            lambda w: (
                w.posted >= _OVERDRAFT_FROM and w.pending_debits == 0 and w.pending_credits == 0
            ),
            "an overdraft",
        )
        amount = wallet.posted + self.rng.randrange(500, 5_001)
        tx_id = f"tx-{self.key()}"
        sealed = self.append(
            NewVersion(
                transaction_id=tx_id,
                version=0,
                kind="standard",
                status="posted",
                entries=_move(wallet.account_id, BANK["usd"], amount),
                idempotency_key=self.key(),
                external_id=f"payout-{self.rng.getrandbits(48):012x}",
                description="Withdrawal (batch payout job)",
                metadata=(("event", "withdrawal"),),
            ),
            self.month.end_ns - MINUTE,
        )
        self.add(
            PlantedAnomaly(
                rule=RuleId.BALANCE_NEGATIVE,
                ledger_id=LEDGER_ID,
                transaction_id=tx_id,
                version=0,
                chain_seq=sealed.seq,
                description=(
                    f"withdrawal of {_usd(amount)} takes {wallet.account_id} (no negative "
                    f"balance allowed) from {_usd(wallet.posted)} to "
                    f"{_usd(wallet.posted - amount)}"
                ),
                account_id=wallet.account_id,
                asset_id=USD,
            )
        )

    # --- b. the attacker ----------------------------------------------------------------

    def attack(self, targets: _Targets) -> None:
        tampered, deleted, resealed = targets.tampered, targets.deleted, targets.resealed
        first, second = targets.pair
        after_deleted = self.rows(deleted.seq + 1, deleted.seq + 1)[0]
        after_resealed = self.rows(resealed.seq + 1, resealed.seq + 1)[0]
        with self.engine.begin() as conn:
            drop_append_only_triggers(conn)
        try:
            with self.engine.begin() as conn:
                _lower_amounts(conn, tampered)
                _delete(conn, deleted)
                _swap(conn, first, second)
                _lower_amounts(conn, resealed)
                _reseal(conn, resealed)
            rebuild_balances(self.engine, LEDGER_ID)
        finally:
            with self.engine.begin() as conn:
                restore_append_only_triggers(conn)
        self._record_moves(tampered, (first, second))
        self._record_links(deleted, after_deleted, resealed, after_resealed)

    def _adjacent_fees(self, rows: list[_Row]) -> list[tuple[_Row, _Row]]:
        """Fee rows at consecutive seqs (two debits in a row: swapping them is harmless)."""
        fees = {r.seq: r for r in self.fees(rows)}
        return [(row, fees[seq + 1]) for seq, row in sorted(fees.items()) if seq + 1 in fees]

    def _record_moves(self, tampered: _Row, pair: tuple[_Row, _Row]) -> None:
        first, second = pair
        amount = tampered.legs[0].amount
        self.add(
            PlantedAnomaly(
                rule=RuleId.CHAIN_TAMPERED,
                ledger_id=LEDGER_ID,
                transaction_id=tampered.transaction_id,
                version=tampered.version,
                chain_seq=tampered.seq,
                description=(
                    f"fee amounts edited in place from {_usd(amount)} to {_usd(amount - 1)} "
                    "on both legs; hashes untouched"
                ),
            )
        )
        # After the swap, ``second`` sits at ``first``'s old seq and the other way round.
        self.add(
            PlantedAnomaly(
                rule=RuleId.CHAIN_REORDERED,
                ledger_id=LEDGER_ID,
                transaction_id=second.transaction_id,
                version=second.version,
                chain_seq=first.seq,
                description=(
                    f"chain_seq of fee rows {first.transaction_id} and {second.transaction_id} "
                    f"swapped: the later one now sits at seq {first.seq}, the earlier at "
                    f"{second.seq}"
                ),
                other_transaction_id=first.transaction_id,
                other_chain_seq=second.seq,
            )
        )

    def _record_links(
        self, deleted: _Row, after_deleted: _Row, resealed: _Row, after_resealed: _Row
    ) -> None:
        self.add(
            PlantedAnomaly(
                rule=RuleId.CHAIN_DELETED,
                ledger_id=LEDGER_ID,
                transaction_id=deleted.transaction_id,
                version=deleted.version,
                chain_seq=deleted.seq,
                description=(
                    f"fee version and its entries deleted ({_usd(deleted.legs[0].amount)}): "
                    f"seq {deleted.seq} is missing and seq {after_deleted.seq} links to it"
                ),
                other_transaction_id=after_deleted.transaction_id,
                other_chain_seq=after_deleted.seq,
            )
        )
        amount = resealed.legs[0].amount
        self.add(
            PlantedAnomaly(
                rule=RuleId.CHAIN_RESEALED,
                ledger_id=LEDGER_ID,
                transaction_id=resealed.transaction_id,
                version=resealed.version,
                chain_seq=resealed.seq,
                description=(
                    f"fee amounts edited from {_usd(amount)} to {_usd(amount - 1)} and the "
                    f"row re-hashed; seq {after_resealed.seq} still links to the old hash"
                ),
                other_transaction_id=after_resealed.transaction_id,
                other_chain_seq=after_resealed.seq,
            )
        )

    # --- c. the cache edit --------------------------------------------------------------

    def drift(self) -> None:
        lowered = self.rng.randrange(100, 2_501)
        wallet = self.wallet(lambda w: w.posted >= 2 * lowered, "a drifted balance")
        with self.engine.begin() as conn:
            conn.execute(
                balances.update()
                .where(
                    balances.c.ledger_id == LEDGER_ID,
                    balances.c.account_id == wallet.account_id,
                    balances.c.asset_id == USD,
                )
                .values(posted_credits=balances.c.posted_credits - lowered)
            )
        self.add(
            PlantedAnomaly(
                rule=RuleId.BALANCE_DRIFT,
                ledger_id=LEDGER_ID,
                transaction_id=None,
                version=None,
                chain_seq=None,
                description=(
                    f"cached posted_credits of {wallet.account_id} lowered by "
                    f"{_usd(lowered)} after the nightly rebuild"
                ),
                account_id=wallet.account_id,
                asset_id=USD,
            )
        )


def plant_anomalies(
    engine: sa.Engine, *, seed: int, month: Month, jet: list[JetPlant] | None = None
) -> list[PlantedAnomaly]:
    """Plant every anomaly of the answer key into the demo ledger (see the module docstring).

    The JET red flags (:mod:`ledger_audit.demo.jet_plant`) are planted too; their key
    entries are appended to ``jet`` when given.

    Raises:
        InputError: the ledger is too small to find well-separated targets.
        PostRejected: the writer refused the planted duplicate payment (a bug).
    """
    planter = _Planter(engine, seed, month)
    targets = planter.choose_rows()
    # a. The buggy job, then the projector. The overdraft comes last in the chain, so
    #    nothing after it touches its wallet.
    planter.idempotency_conflict(targets.deposit)
    planter.reversal_not_inverse(targets.reversed_fee)
    planter.backdated_adjustment()
    planter.duplicate_payment()
    planter.jet = plant_jet(planter)
    planter.negative_balance()
    project_balances(engine, LEDGER_ID)
    # b. The attacker, then the nightly rebuild.
    planter.attack(targets)
    # c. The cache edit after the rebuild.
    planter.drift()
    if jet is not None:
        jet.extend(planter.jet)
    return planter.found


# --- helpers ----------------------------------------------------------------------------


def _is_fee(row: _Row) -> bool:
    return (
        row.kind == "standard"
        and row.status == "posted"
        and row.version == 0
        and len(row.legs) == _TWO_LEGS
        and row.legs[0].direction == "debit"
        and row.legs[0].asset_id == USD
        and row.legs[0].account_id.startswith(WALLET_PREFIX)
        and row.legs[1].direction == "credit"
        and row.legs[1].account_id == FEE_REVENUE
        and row.legs[0].amount >= _MIN_FEE
    )


def _move(debit: str, credit: str, amount: int, asset_id: str = USD) -> tuple[EntrySpec, ...]:
    return (
        EntrySpec(debit, asset_id, "debit", amount),
        EntrySpec(credit, asset_id, "credit", amount),
    )


def _usd(amount: int) -> str:
    return format_amount(amount, USD)


def _version_key(row: _Row) -> sa.ColumnElement[bool]:
    return sa.and_(
        transactions.c.ledger_id == LEDGER_ID,
        transactions.c.transaction_id == row.transaction_id,
        transactions.c.version == row.version,
    )


def _entries_key(row: _Row) -> sa.ColumnElement[bool]:
    return sa.and_(
        entries.c.ledger_id == LEDGER_ID,
        entries.c.transaction_id == row.transaction_id,
        entries.c.version == row.version,
    )


def _lower_amounts(conn: sa.Connection, row: _Row) -> None:
    conn.execute(entries.update().where(_entries_key(row)).values(amount=entries.c.amount - 1))


def _delete(conn: sa.Connection, row: _Row) -> None:
    conn.execute(entries.delete().where(_entries_key(row)))
    conn.execute(transactions.delete().where(_version_key(row)))


def _swap(conn: sa.Connection, first: _Row, second: _Row) -> None:
    conn.execute(transactions.update().where(_version_key(first)).values(chain_seq=-first.seq))
    conn.execute(transactions.update().where(_version_key(second)).values(chain_seq=first.seq))
    conn.execute(transactions.update().where(_version_key(first)).values(chain_seq=second.seq))


def _reseal(conn: sa.Connection, row: _Row) -> None:
    """Recompute the row's content and chain hash from its (edited) fields and stored prev."""
    tx = transactions
    stored = conn.execute(sa.select(tx).where(_version_key(row))).one()
    legs = conn.execute(
        sa.select(entries).where(_entries_key(row)).order_by(entries.c.entry_index)
    ).all()
    sealed = lach1.SealedVersion(
        ledger_id=LEDGER_ID,
        seq=int(stored.chain_seq),
        transaction_id=str(stored.transaction_id),
        version=int(stored.version),
        kind=str(stored.kind),
        status=str(stored.status),
        pending_transaction_id=stored.pending_transaction_id,
        reverses_transaction_id=stored.reverses_transaction_id,
        effective_ns=int(stored.effective_ns),
        recorded_ns=int(stored.recorded_ns),
        idempotency_key=stored.idempotency_key,
        external_id=stored.external_id,
        entries=tuple(
            lach1.SealedEntry(
                int(e.entry_index),
                str(e.account_id),
                str(e.asset_id),
                str(e.direction),
                int(e.amount),
            )
            for e in legs
        ),
    )
    content = lach1.content_hash(sealed)
    conn.execute(
        tx.update()
        .where(_version_key(row))
        .values(
            content_hash=content,
            chain_hash=lach1.link_hash(str(stored.chain_prev_hash), content),
        )
    )
