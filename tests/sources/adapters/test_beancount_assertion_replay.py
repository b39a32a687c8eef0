"""The assertion replay agrees with the tools themselves and with a plain Python oracle.

Random small ledgers (transactions between accounts with a subaccount, in random file
order and dates, and assertions whose amounts are either the true balance or a near miss)
are written as a Beancount file and as an hledger journal and loaded through the adapters.
The property: the replay fails exactly the assertions a one-posting-at-a-time Decimal
oracle fails under each tool's semantics, and the tool's own verdict never disagrees
(no ``source.inconsistent``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.findings import RuleId
from ledger_audit.sources.adapters import beancount, hledger
from ledger_audit.sources.adapters.adapted import Adapted
from tests.conftest import missing_prerequisite

ACCOUNTS = ("Assets:Cash", "Assets:Cash:Box", "Assets:Bank", "Income:Sales")


@dataclass(frozen=True)
class Move:
    """One two-posting transaction: ``cents`` from ``source`` to ``target`` on day ``day``."""

    day: int
    source: int
    target: int
    cents: int


@dataclass(frozen=True)
class Check:
    """An assertion on ``account`` (day for Beancount; after a move's posting for hledger)."""

    day: int
    account: int
    miss: int
    subaccounts: bool


moves_st = st.lists(
    st.builds(
        Move,
        st.integers(1, 4),
        st.integers(0, 3),
        st.integers(0, 3),
        st.integers(1, 5_000),
    ).filter(lambda m: m.source != m.target),
    min_size=1,
    max_size=8,
)
checks_st = st.lists(
    st.builds(
        Check,
        st.integers(1, 5),
        st.integers(0, 3),
        st.sampled_from([0, 0, 1, 2, 150]),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


def _usd(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _covers(asserted: str, account: str, *, subaccounts: bool) -> bool:
    return account == asserted or (subaccounts and account.startswith(asserted + ":"))


def _failed(adapted: Adapted) -> set[str]:
    findings = pl.concat([n.result.findings for n in adapted.native])
    assert findings.filter(pl.col("rule") == RuleId.SOURCE_INCONSISTENT.value).height == 0
    return set(findings.filter(pl.col("rule") == RuleId.BALANCE_ASSERTION_FAILED.value)["locator"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moves_st, checks_st)
def test_beancount_replay_matches_beancount_and_the_oracle(
    moves: list[Move], checks: list[Check]
) -> None:
    lines = ["2025-01-01 open " + a + " USD" for a in ACCOUNTS]
    for m in moves:  # file order is not date order
        lines += [
            f'2025-01-0{m.day + 1} * "move"',
            f"  {ACCOUNTS[m.target]}  {_usd(m.cents)} USD",
            f"  {ACCOUNTS[m.source]}  {_usd(-m.cents)} USD",
        ]
    expected: set[int] = set()
    for c in checks:
        asserted = ACCOUNTS[c.account]
        # Beancount: start of day, subaccounts always included, tolerance 0.01 at 2 decimals
        true = sum(
            (m.cents if _covers(asserted, ACCOUNTS[m.target], subaccounts=True) else 0)
            - (m.cents if _covers(asserted, ACCOUNTS[m.source], subaccounts=True) else 0)
            for m in moves
            if m.day + 1 < c.day + 1
        )
        lines.append(f"2025-01-0{c.day + 1} balance {asserted}  {_usd(true + c.miss)} USD")
        if abs(Decimal(c.miss) / 100) > Decimal("0.01"):
            expected.add(len(lines))
    with TemporaryDirectory() as folder:
        path = Path(folder) / "random.beancount"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        failed = _failed(beancount.load(path))
    assert failed == {f"{path}:{line}" for line in expected}


@pytest.fixture(scope="module")
def hledger_installed() -> None:
    if shutil.which("hledger") is None:
        missing_prerequisite("hledger is not installed (scripts/ensure-tools.sh installs it)")


@pytest.mark.usefixtures("hledger_installed")
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    moves_st,
    st.lists(st.tuples(st.sampled_from([0, 0, 1, 150]), st.booleans()), min_size=8, max_size=8),
)
def test_hledger_replay_matches_hledger_and_the_oracle(
    moves: list[Move], marks: list[tuple[int, bool]]
) -> None:
    # hledger: after the posting, in (date, parse order, posting order); '=' this account,
    # '=*' with subaccounts; exact. Each move's target posting carries an assertion.
    order = sorted(range(len(moves)), key=lambda i: (moves[i].day, i))
    balances: dict[str, int] = dict.fromkeys(ACCOUNTS, 0)
    asserted_value: dict[int, tuple[int, bool]] = {}
    for i in order:
        m = moves[i]
        balances[ACCOUNTS[m.target]] += m.cents
        miss, inclusive = marks[i]
        target = ACCOUNTS[m.target]
        true = sum(v for a, v in balances.items() if _covers(target, a, subaccounts=inclusive))
        asserted_value[i] = (true + miss, inclusive)
        balances[ACCOUNTS[m.source]] -= m.cents
    lines: list[str] = []
    expected: set[int] = set()
    for i, m in enumerate(moves):
        value, inclusive = asserted_value[i]
        lines += [
            f"2025-01-0{m.day + 1} move",
            (
                f"    {ACCOUNTS[m.target]}  {_usd(m.cents)} USD "
                f"{'=*' if inclusive else '='} {_usd(value)} USD"
            ),
            f"    {ACCOUNTS[m.source]}  {_usd(-m.cents)} USD",
        ]
        if marks[i][0]:
            expected.add(len(lines) - 1)
    with TemporaryDirectory() as folder:
        path = Path(folder) / "random.journal"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        failed = _failed(hledger.load(path))
    assert failed == {f"{path}:{line}" for line in expected}
