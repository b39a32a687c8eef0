"""The scenario stream on its own: months, determinism, budget, shape of every request."""

from __future__ import annotations

import uuid
from collections import Counter
from itertools import chain

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ledger_audit.demo.scenario import (
    FEE_REVENUE,
    MIN_TRANSACTIONS,
    MIN_USERS,
    Month,
    Scenario,
    Timed,
    parse_month,
    uuid4_text,
)
from ledger_audit.errors import InputError
from ledger_audit.ledger.requests import (
    PostPending,
    PostTransaction,
    ReverseTransaction,
    VoidPending,
)

NS = 10**9
JAN_2025 = 1_735_689_600 * NS


def stream(seed: int = 7, transactions: int = 500) -> tuple[Scenario, list[Timed]]:
    scenario = Scenario(seed=seed, transactions=transactions, month=parse_month("2025-01"))
    return scenario, list(chain(scenario.opening(), scenario.month_events()))


@pytest.mark.parametrize(
    ("text", "start", "days"),
    [
        ("2025-01", JAN_2025, 31),
        ("2024-02", 1_706_745_600 * NS, 29),
        ("2025-02", 1_738_368_000 * NS, 28),
        ("2025-12", 1_764_547_200 * NS, 31),
    ],
)
def test_parse_month(text: str, start: int, days: int) -> None:
    month = parse_month(text)
    assert month == Month(text, start, start + days * 86_400 * NS)
    assert month.days == days
    assert month.closed_through_ns == start - 1


@pytest.mark.parametrize("text", ["2025-13", "2025-00", "2025-1", "25-01", "1969-12", "", "x"])
def test_parse_month_rejects(text: str) -> None:
    with pytest.raises(InputError, match="YYYY-MM"):
        parse_month(text)


def test_too_few_transactions() -> None:
    with pytest.raises(InputError, match=f"at least {MIN_TRANSACTIONS}"):
        Scenario(seed=1, transactions=MIN_TRANSACTIONS - 1, month=parse_month("2025-01"))


def test_users_scale_with_transactions() -> None:
    month = parse_month("2025-01")
    assert Scenario(seed=1, transactions=100, month=month).users == MIN_USERS
    assert Scenario(seed=1, transactions=20_000, month=month).users == 1_000


def test_same_seed_same_stream_other_seed_other_stream() -> None:
    _, first = stream(seed=3)
    _, again = stream(seed=3)
    _, other = stream(seed=4)
    assert first == again
    assert first != other


def test_exactly_n_top_level_transactions() -> None:
    scenario, items = stream(transactions=700)
    new = [
        t
        for t in items
        if not t.retry
        and isinstance(t.request, PostTransaction | ReverseTransaction)
        and not (isinstance(t.request, PostTransaction) and t.request.kind == "opening")
    ]
    assert len(new) == scenario.committed == 700
    labels = Counter(scenario.stats)
    counted = sum(
        labels[k]
        for k in (
            "deposit",
            "card_auth",
            "p2p",
            "withdrawal",
            "fee",
            "conversion",
            "p2p_reversal",
            "adjustment",
            "settlement",
        )
    )
    assert counted == 700


def test_every_kind_of_event_occurs() -> None:
    scenario, _ = stream(transactions=2_000)
    assert {
        "opening",
        "deposit",
        "deposit_post",
        "deposit_return",
        "card_auth",
        "capture_full",
        "capture_partial",
        "card_void",
        "p2p",
        "p2p_reversal",
        "withdrawal",
        "fee",
        "conversion",
        "adjustment",
        "settlement",
        "client_retry",
    } <= set(scenario.stats)


def test_requests_are_well_formed() -> None:
    scenario, items = stream(transactions=1_000)
    accounts = {a.account_id: a for a in scenario.accounts()}
    month = scenario.month
    seen_keys: dict[str, object] = {}
    externals: Counter[str] = Counter()
    for item in items:
        request = item.request
        if item.retry:
            assert seen_keys[request.idempotency_key] == request  # the very same request
            continue
        assert request.idempotency_key not in seen_keys
        seen_keys[request.idempotency_key] = request
        if isinstance(request, PostTransaction) and request.kind == "opening":
            assert month.start_ns - 86_400 * NS <= item.time_ns < month.start_ns
        else:
            assert month.start_ns <= item.time_ns < month.end_ns - 30 * 60 * NS
        if isinstance(request, PostTransaction):
            if request.external_id is not None:
                externals[request.external_id] += 1
            totals: Counter[str] = Counter()
            for leg in request.entries:
                account = accounts[leg.account_id]
                assert account.asset_id in (None, leg.asset_id)
                assert leg.amount > 0
                totals[leg.asset_id] += leg.amount if leg.direction == "debit" else -leg.amount
            assert not any(totals.values())
            if any(leg.account_id == FEE_REVENUE for leg in request.entries):
                assert request.entries[1].account_id == FEE_REVENUE
        else:
            assert isinstance(request, PostPending | VoidPending | ReverseTransaction)
    assert externals
    assert max(externals.values()) == 1


def test_stream_is_lazy() -> None:
    scenario = Scenario(seed=7, transactions=2_000_000, month=parse_month("2025-01"))
    events = scenario.month_events()
    first = [next(events) for _ in range(10)]
    assert len(first) == 10
    assert scenario.committed < 2_000_000


@given(bits=st.integers(min_value=0, max_value=2**128 - 1))
@example(bits=0)
@example(bits=2**128 - 1)
@example(bits=0xC000 << 48)
def test_an_idempotency_key_is_the_uuid4_text_of_its_128_random_bits(bits: int) -> None:
    assert uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))
