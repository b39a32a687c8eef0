"""Plant journal-entry-testing red flags in the demo, and their answer key.

JET flags are risky entries that the ledger accepts, not integrity failures: ``verify``
must stay silent on them (they break no invariant, touch no bank account, and reuse no
key), while ``ledger-audit jet`` must find every one (recall 1.0). They are sealed by the
buggy job of :mod:`ledger_audit.demo.plant`, after the duplicate payment and before the
overdraft (which stays the last row of the chain):

- a just-below-threshold split: two goodwill credits to one wallet, each just under
  5,000.00, together above it, two minutes apart;
- a weekend manual adjustment: a goodwill credit effective on the month's last Saturday;
- a rare account pair: fee revenue moved to the conversion account;
- a reversal across period end: an accrual effective two days before the month ends,
  reversed exactly by a reversal effective the first day of the next month.

The post-close manual entry is the adjustment planted for ``period.backdated_into_closed``
(booked into the closed month): the JET key names it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.demo.answer_key import JsonScalar, dump_json
from ledger_audit.demo.scenario import (
    ADJUSTMENTS,
    CONVERSION,
    DAY,
    EUR,
    FEE_REVENUE,
    HOUR,
    LEDGER_ID,
    MINUTE,
    USD,
)
from ledger_audit.findings import RuleId
from ledger_audit.ledger.requests import EntrySpec
from ledger_audit.ledger.sealing import NewVersion
from ledger_audit.money import format_amount
from ledger_audit.schema.times import ns_to_iso

if TYPE_CHECKING:
    from ledger_audit.demo.plant import _Planter

JET_KEY_FILE = "jet_answer_key.json"
THRESHOLD = 500_000  # 5,000.00 USD: the lowest approval threshold of rules/jet.toml
_SATURDAY = 5


@dataclass(frozen=True, slots=True)
class JetPlant:
    """One planted JET red flag: the rule that must flag it, and where."""

    rule: JetRule
    transaction_id: str
    chain_seq: int | None
    description: str

    def to_json(self) -> dict[str, JsonScalar]:
        """The key's JSON object."""
        return {
            "rule": self.rule.value,
            "ledger_id": LEDGER_ID,
            "transaction_id": self.transaction_id,
            "chain_seq": self.chain_seq,
            "description": self.description,
        }


def write_jet_key(path: Path, plants: list[JetPlant]) -> None:
    """Deterministic JSON, sorted by (rule, chain_seq); ``[]`` for a clean demo."""
    ordered = sorted(plants, key=lambda p: (p.rule.value, p.chain_seq or -1))
    path.write_text(dump_json([p.to_json() for p in ordered]), encoding="utf-8")


def _move(debit: str, credit: str, amount: int, asset: str) -> tuple[EntrySpec, ...]:
    return (EntrySpec(debit, asset, "debit", amount), EntrySpec(credit, asset, "credit", amount))


def _last_saturday(end_ns: int) -> int:
    """11:00 UTC on the last Saturday before ``end_ns`` (the month's exclusive end)."""
    day = dt.datetime.fromtimestamp(end_ns // 10**9, tz=dt.UTC).date() - dt.timedelta(days=1)
    while day.weekday() != _SATURDAY:
        day -= dt.timedelta(days=1)
    return int(dt.datetime(day.year, day.month, day.day, 11, tzinfo=dt.UTC).timestamp()) * 10**9


def plant_jet(planter: _Planter) -> list[JetPlant]:
    """Seal the JET red flags (see the module docstring) and return their key entries."""
    end = planter.month.end_ns
    plants: list[JetPlant] = []

    def seal(tx_id: str, legs: tuple[EntrySpec, ...], at: int, **fields: object) -> int:
        version = NewVersion(
            transaction_id=tx_id,
            version=0,
            status="posted",
            entries=legs,
            idempotency_key=planter.key(),
            **fields,  # type: ignore[arg-type]
        )
        return planter.append(version, at).seq

    wallet = planter.wallet(lambda _: True, "a split adjustment").account_id
    for minutes in (35, 33):
        amount = THRESHOLD - planter.rng.randrange(1_000, 20_001)
        tx_id = f"tx-{planter.key()}"
        seq = seal(
            tx_id,
            _move(ADJUSTMENTS["usd"], wallet, amount, USD),
            end - minutes * MINUTE,
            kind="adjustment",
            description="Goodwill credit",
            metadata=(("event", "adjustment"),),
        )
        plants.append(
            JetPlant(
                JetRule.SPLIT_BELOW,
                tx_id,
                seq,
                f"goodwill credit of {format_amount(amount, USD)} to {wallet}, one of two "
                f"each below {format_amount(THRESHOLD, USD)} within two minutes",
            )
        )
    weekend_wallet = planter.wallet(lambda _: True, "a weekend adjustment").account_id
    amount = planter.rng.randrange(1_000, 5_001)
    saturday = _last_saturday(end)
    tx_id = f"tx-{planter.key()}"
    seq = seal(
        tx_id,
        _move(ADJUSTMENTS["usd"], weekend_wallet, amount, USD),
        end - 30 * MINUTE,
        kind="adjustment",
        effective_ns=saturday,
        description="Goodwill credit",
        metadata=(("event", "adjustment"),),
    )
    plants.append(
        JetPlant(
            JetRule.WEEKEND,
            tx_id,
            seq,
            f"manual adjustment of {format_amount(amount, USD)} effective "
            f"{ns_to_iso(saturday)}, a Saturday",
        )
    )
    amount = planter.rng.randrange(100, 1_001)
    tx_id = f"tx-{planter.key()}"
    seq = seal(
        tx_id,
        _move(FEE_REVENUE, CONVERSION, amount, USD),
        end - 25 * MINUTE,
        kind="standard",
        description="Fee revenue reclassified to conversion",
        metadata=(("event", "reclass"),),
    )
    plants.append(
        JetPlant(
            JetRule.RARE_PAIR,
            tx_id,
            seq,
            f"{format_amount(amount, USD)} debited to {FEE_REVENUE} against {CONVERSION}, "
            "a pair no other transaction uses",
        )
    )
    plants.append(_reversal_across_period_end(planter, seal, end))
    backdated = next(a for a in planter.found if a.rule == RuleId.PERIOD_BACKDATED)
    plants.append(
        JetPlant(
            JetRule.POST_CLOSE,
            str(backdated.transaction_id),
            backdated.chain_seq,
            f"manual adjustment booked into the closed period: {backdated.description}",
        )
    )
    return plants


def _reversal_across_period_end(planter: _Planter, seal: Callable[..., int], end: int) -> JetPlant:
    """An accrual effective two days before the period end, reversed the day after it."""
    amount = planter.rng.randrange(10_000, 50_001)
    accrual = f"tx-{planter.key()}"
    legs = _move(ADJUSTMENTS["eur"], CONVERSION, amount, EUR)
    seal(
        accrual,
        legs,
        end - 20 * MINUTE,
        kind="adjustment",
        effective_ns=end - 2 * DAY,
        description="Accrued FX rebate",
        metadata=(("event", "accrual"),),
    )
    reversal = f"tx-{planter.key()}"
    inverse = _move(CONVERSION, ADJUSTMENTS["eur"], amount, EUR)
    seq = seal(
        reversal,
        inverse,
        end - 15 * MINUTE,
        kind="reversal",
        reverses_transaction_id=accrual,
        effective_ns=end + 9 * HOUR,
        description="Accrued FX rebate reversed",
        metadata=(("event", "accrual_reversal"),),
    )
    return JetPlant(
        JetRule.REVERSAL_AFTER_PERIOD_END,
        reversal,
        seq,
        f"exact reversal of accrual {accrual} ({format_amount(amount, EUR)}), effective "
        f"{ns_to_iso(end + 9 * HOUR)}, after the period end",
    )
