"""The realistic month: a deterministic stream of requests to the reference writer.

A one-month wallet fintech in USD and EUR. Users hold a wallet per currency (credit-normal,
never negative). Over the month they deposit by ACH/SEPA (held pending, posted about three
days later, a few returned), pay by card (authorisation held pending, then captured in full
or in part, or voided), pay each other (P2P, a few reversed), withdraw, and convert USD to
EUR and back through a multi-asset conversion account. A nightly fee job charges card fees;
instant withdrawals pay a fee at once; every fee goes to the one hot ``revenue:fees:usd``
account. Settlement jobs sweep the clearing accounts into the bank and pay the card network.

Everything is decided by one seeded ``random.Random`` while the stream is generated, in time
order, against a cheap model of every wallet's available balance, so every request is valid
when it reaches the writer. The stream is lazy (one heap of scheduled follow-ups, no list of
all requests), so a month of ten million transactions streams in bounded memory.

``transactions`` counts top-level transactions in the month: every new transaction id
(deposits, authorisations, P2P, withdrawals, fees, conversions, reversals, adjustments,
settlements). Captures and voids are extra versions of existing ones; opening balances
(posted the day before the month) and client retries are not counted.
"""

from __future__ import annotations

import calendar
import heapq
import math
import random
import re
from bisect import bisect_right
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import accumulate
from typing import Literal

from ledger_audit.errors import InputError
from ledger_audit.ledger.requests import (
    AccountSpec,
    EntrySpec,
    PostPending,
    PostTransaction,
    Request,
    ReverseTransaction,
    VoidPending,
    derived_transaction_id,
)

LEDGER_ID = "demo"
USD = "USD/2"
EUR = "EUR/2"
Currency = Literal["usd", "eur"]
CURRENCIES: tuple[Currency, ...] = ("usd", "eur")
ASSET: dict[Currency, str] = {"usd": USD, "eur": EUR}

BANK: dict[Currency, str] = {"usd": "assets:bank:operating:usd", "eur": "assets:bank:operating:eur"}
CLEARING: dict[Currency, str] = {
    "usd": "assets:clearing:ach:usd",
    "eur": "assets:clearing:sepa:eur",
}
CARD_PAYABLE: dict[Currency, str] = {
    "usd": "liabilities:card-network:payable:usd",
    "eur": "liabilities:card-network:payable:eur",
}
ADJUSTMENTS: dict[Currency, str] = {
    "usd": "expenses:adjustments:usd",
    "eur": "expenses:adjustments:eur",
}
FEE_REVENUE = "revenue:fees:usd"
CONVERSION = "equity:conversion"
WALLET_PREFIX = "liabilities:wallet:"

MIN_TRANSACTIONS = 100
MIN_USERS = 25
TRANSACTIONS_PER_USER = 20

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
DAY = 24 * HOUR
QUIET_TAIL = HOUR
"""The month's last hour carries no scenario events: the planted anomalies are recorded there."""

DUPLICATE_WINDOW = DAY
"""No two top-level transactions with the same accounts and amount within this window."""

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_MIN_YEAR, _MAX_YEAR = 1971, 2261  # epoch nanoseconds fit a signed 64-bit integer
_DECEMBER = 12
_SATURDAY = 5
_SUNDAY = 6
_DAILY_SETTLEMENT_FROM = 3_000  # below this many transactions, settle once a week
_EUR_USER_SHARE = 0.3
_EUR_ACTIVITY_SHARE = 0.35
_RATE_PPM = 920_000  # EUR per USD, in millionths, before the daily drift
_PPM = 1_000_000
_BPS = 10_000
_RECENT_P2P_MAX = 4_000
_RETURNED_SHARE = 0.03  # deposits returned by the bank (voided)
_VOID_SHARE = 0.08  # card authorisations voided
_PARTIAL_SHARE = 0.18  # card authorisations captured in part
_INSTANT_SHARE = 0.4  # USD withdrawals paid out instantly, for a fee
_TO_EUR_SHARE = 0.8  # conversions from USD to EUR (the rest EUR to USD)
_MIN_CONVERSION = 1_000  # 10.00
_WITH_FEE = 2  # an event that also posts a fee transaction costs two

_EVENT_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("deposit", 13.0),
    ("card_auth", 32.0),
    ("p2p", 24.0),
    ("withdrawal", 10.0),
    ("conversion", 5.0),
    ("p2p_reversal", 1.2),
    ("adjustment", 0.5),
)


def wallet_account(user: int, currency: Currency) -> str:
    """``liabilities:wallet:u000042:usd``."""
    return f"{WALLET_PREFIX}u{user:06d}:{currency}"


@dataclass(frozen=True, slots=True)
class Month:
    """A calendar month in UTC: ``start_ns`` inclusive, ``end_ns`` exclusive."""

    label: str
    start_ns: int
    end_ns: int

    @property
    def days(self) -> int:
        """Number of days in the month."""
        return (self.end_ns - self.start_ns) // DAY

    @property
    def scenario_end_ns(self) -> int:
        """Where the scenario's events stop: one hour before the month ends."""
        return self.end_ns - QUIET_TAIL

    @property
    def closed_through_ns(self) -> int:
        """The last instant of the previous month (closed before the month starts)."""
        return self.start_ns - 1


def parse_month(text: str) -> Month:
    """``'2025-01'`` -> the month; anything else is an :class:`InputError`."""
    match = _MONTH.match(text)
    year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
    if not (_MIN_YEAR <= year <= _MAX_YEAR and 1 <= month <= _DECEMBER):
        raise InputError(
            f"month {text!r}", f"expected YYYY-MM with a year from {_MIN_YEAR} to {_MAX_YEAR}"
        )
    next_year, next_month = (year + 1, 1) if month == _DECEMBER else (year, month + 1)
    start = calendar.timegm((year, month, 1, 0, 0, 0)) * NS
    end = calendar.timegm((next_year, next_month, 1, 0, 0, 0)) * NS
    return Month(label=f"{year:04d}-{month:02d}", start_ns=start, end_ns=end)


@dataclass(frozen=True, slots=True)
class Timed:
    """One request of the stream and the instant the simulated clock shows when it is sealed.

    Attributes:
        time_ns: the event's time (the writer records max(time, previous recorded + 1 ns)).
        request: what the client sends.
        retry: a client retry of an earlier request (same key, same body): the writer replays
            the first result and seals nothing, so a retry takes no clock tick.
    """

    time_ns: int
    request: Request
    retry: bool = False


@dataclass(frozen=True, slots=True)
class StreamCounts:
    """What a scenario counted once streamed: ``stats`` per event label and ``committed``."""

    stats: tuple[tuple[str, int], ...]
    committed: int


# --- scheduled follow-ups (the heap) ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Slot:
    """A new top-level event; what it is gets decided when its time comes."""


@dataclass(frozen=True, slots=True)
class _DepositDue:
    transaction_id: str
    user: int
    currency: Currency
    amount: int
    returned: bool


@dataclass(frozen=True, slots=True)
class _CardDue:
    transaction_id: str
    user: int
    currency: Currency
    amount: int
    captured: int  # 0: the authorisation is voided
    fee_reserved: int  # held in the model until the nightly fee job charges it


@dataclass(frozen=True, slots=True)
class _FeeDue:
    user: int
    reserved: int
    amount: int
    source: str


@dataclass(frozen=True, slots=True)
class _SettlementDue:
    what: Literal["clearing", "card"]
    currency: Currency
    amount: int
    label: str


_Item = _Slot | _DepositDue | _CardDue | _FeeDue | _SettlementDue
_SLOT = _Slot()


@dataclass(slots=True)
class _P2P:
    transaction_id: str
    sender: int
    receiver: int
    currency: Currency
    amount: int


class _RecentSignatures:
    """(debit account, credit account, amounts) of recent top-level transactions."""

    def __init__(self, window_ns: int) -> None:
        self._window = window_ns
        self._queue: deque[tuple[int, tuple[str, str, int]]] = deque()
        self._counts: dict[tuple[str, str, int], int] = {}

    def _expire(self, now: int) -> None:
        while self._queue and self._queue[0][0] <= now - self._window:
            _, old = self._queue.popleft()
            left = self._counts[old] - 1
            if left:
                self._counts[old] = left
            else:
                del self._counts[old]

    def free_amount(self, now: int, debit: str, credit: str, amount: int, *, step: int) -> int:
        """``amount`` moved by ``step`` until no recent transaction has the same signature."""
        self._expire(now)
        while (debit, credit, amount) in self._counts and amount + step > 0:
            amount += step
        return amount

    def add(self, now: int, signature: tuple[str, str, int]) -> None:
        self._queue.append((now, signature))
        self._counts[signature] = self._counts.get(signature, 0) + 1


class Scenario:
    """The month as a lazy, deterministic stream of :class:`Timed` requests.

    Use :meth:`accounts`, then stream :meth:`opening` (the day before the month), close the
    previous period, then stream :meth:`month_events`. ``stats`` counts what was generated
    per event label once the streams are consumed.
    """

    def __init__(self, *, seed: int, transactions: int, month: Month) -> None:
        if transactions < MIN_TRANSACTIONS:
            raise InputError(
                "transactions", f"need at least {MIN_TRANSACTIONS}, got {transactions}"
            )
        self.seed = seed
        self.transactions = transactions
        self.month = month
        self.users = max(MIN_USERS, transactions // TRANSACTIONS_PER_USER)
        self.stats: Counter[str] = Counter()
        self.committed = 0
        self._rng = random.Random(f"ledger-audit demo scenario {seed}")  # noqa: S311 - a simulation
        rng = self._rng
        self._eur_user = [rng.random() < _EUR_USER_SHARE for _ in range(self.users)]
        activity = [rng.paretovariate(1.6) for _ in range(self.users)]
        self._activity = list(accumulate(activity))
        self._avail: dict[Currency, list[int]] = {c: [0] * self.users for c in CURRENCIES}
        self._to_settle: dict[tuple[Literal["clearing", "card"], Currency], int] = {
            (what, c): 0 for what in ("clearing", "card") for c in CURRENCIES
        }
        self._recent = _RecentSignatures(DUPLICATE_WINDOW)
        self._recent_p2p: list[_P2P] = []
        self._heap: list[tuple[int, int, _Item]] = []
        self._tiebreak = 0
        self._pending_slots = 0
        self._serial = 0
        self._p2p_count = 0
        self._retry_stride = max(5, min(500, transactions // 40))
        self._fee_runs: dict[int, int] = {}
        self._rate_ppm = _RATE_PPM
        self._kinds = tuple(k for k, _ in _EVENT_WEIGHTS)
        self._kind_cum = list(accumulate(w for _, w in _EVENT_WEIGHTS))

    # --- set-up -------------------------------------------------------------------------

    def accounts(self) -> list[AccountSpec]:
        """Every account the month uses, in a fixed order."""
        specs = [
            *(
                AccountSpec(BANK[c], "debit", ASSET[c], name=f"Operating bank {c.upper()}")
                for c in CURRENCIES
            ),
            *(AccountSpec(CLEARING[c], "debit", ASSET[c]) for c in CURRENCIES),
            *(AccountSpec(CARD_PAYABLE[c], "credit", ASSET[c]) for c in CURRENCIES),
            *(AccountSpec(ADJUSTMENTS[c], "debit", ASSET[c]) for c in CURRENCIES),
            AccountSpec(FEE_REVENUE, "credit", USD, name="Fee revenue (hot account)"),
            AccountSpec(CONVERSION, "credit", None, name="Currency conversion (multi-asset)"),
        ]
        specs.extend(
            AccountSpec(
                wallet_account(user, c),
                "credit",
                ASSET[c],
                allow_negative=False,
                external_id=f"user-{user:06d}",
            )
            for user in range(self.users)
            for c in CURRENCIES
        )
        return specs

    @property
    def setup_ns(self) -> int:
        """When the ledger and its accounts are created: the last day of the previous month."""
        return self.month.start_ns - DAY

    def opening(self) -> Iterator[Timed]:
        """Opening balances, posted from noon to 8 pm on the last day of the previous month."""
        count = self.users + sum(self._eur_user)
        start = self.month.start_ns - 12 * HOUR
        spacing = max(1, 8 * HOUR // count)
        index = 0
        for user in range(self.users):
            for currency in CURRENCIES:
                if currency == "eur" and not self._eur_user[user]:
                    continue
                median = 80_000 if currency == "usd" else 50_000
                amount = self._lognormal(median, 1.0, 2_000, 5_000_000)
                self._avail[currency][user] = amount
                self.stats["opening"] += 1
                yield Timed(
                    start + index * spacing,
                    PostTransaction(
                        idempotency_key=self._key(),
                        entries=_move(
                            BANK[currency], wallet_account(user, currency), amount, ASSET[currency]
                        ),
                        kind="opening",
                        external_id=f"opening-u{user:06d}-{currency}",
                        description="Opening balance",
                        metadata=(("event", "opening"),),
                    ),
                )
                index += 1

    # --- streamed elsewhere (a child process: ledger_audit.ledger.bulk_feed) -------------

    def sections(self) -> Iterator[Iterator[Timed]]:
        """:meth:`opening`, then :meth:`month_events`: the streams in the order they are posted."""
        yield self.opening()
        yield self.month_events()

    def summary(self) -> StreamCounts:
        """The counts a build reports, once both streams are consumed."""
        return StreamCounts(tuple(sorted(self.stats.items())), self.committed)

    def adopt(self, counts: StreamCounts) -> None:
        """Take the counts of a twin of this scenario that was streamed elsewhere."""
        self.stats = Counter(dict(counts.stats))
        self.committed = counts.committed

    # --- the month ----------------------------------------------------------------------

    def month_events(self) -> Iterator[Timed]:
        """The month's requests in time order (lazy)."""
        targets = self._daily_targets()
        for day in range(self.month.days):
            day_start = self.month.start_ns + day * DAY
            day_end = min(day_start + DAY, self.month.scenario_end_ns)
            self._rate_ppm = _RATE_PPM + self._rng.randrange(-8_000, 8_001)
            if day > 0 and self._settles_on(day_start):
                self._schedule_settlements(day_start)
            new = max(0, targets[day] - self.committed)
            self._pending_slots += new
            for time_ns in sorted(
                day_start + self._rng.randrange(day_end - day_start) for _ in range(new)
            ):
                self._push(time_ns, _SLOT)
            while self._heap and self._heap[0][0] < day_end:
                time_ns, _, item = heapq.heappop(self._heap)
                yield from self._handle(time_ns, item)

    def _daily_targets(self) -> list[int]:
        """Cumulative number of top-level transactions due by the end of each day."""
        weights: list[float] = []
        for day in range(self.month.days):
            weekday = _weekday(self.month.start_ns + day * DAY)
            weight = 0.75 if weekday == _SATURDAY else 0.65 if weekday == _SUNDAY else 1.0
            if day == self.month.days - 1:
                weight *= (DAY - QUIET_TAIL) / DAY
            weights.append(weight)
        total = sum(weights)
        cumulative = list(accumulate(weights))
        targets = [round(self.transactions * c / total) for c in cumulative]
        targets[-1] = self.transactions
        return targets

    def _settles_on(self, day_start: int) -> bool:
        weekday = _weekday(day_start)
        if weekday >= _SATURDAY:
            return False
        return self.transactions >= _DAILY_SETTLEMENT_FROM or weekday == 0

    def _schedule_settlements(self, day_start: int) -> None:
        """Settle what cleared through midnight, at 06:00, as far as the budget allows."""
        label = datetime.fromtimestamp(day_start // NS - 1, tz=UTC).strftime("%Y-%m-%d")
        at = day_start + 6 * HOUR
        for (what, currency), amount in sorted(self._to_settle.items()):
            if amount <= 0 or self.committed >= self.transactions:
                continue
            self.committed += 1
            self._to_settle[(what, currency)] = 0
            self._push(at, _SettlementDue(what, currency, amount, label))
            at += NS

    def _push(self, time_ns: int, item: _Item) -> None:
        self._tiebreak += 1
        heapq.heappush(self._heap, (time_ns, self._tiebreak, item))

    def _handle(self, time_ns: int, item: _Item) -> list[Timed]:
        if isinstance(item, _Slot):
            return self._new_event(time_ns)
        if isinstance(item, _DepositDue):
            return [self._deposit_due(time_ns, item)]
        if isinstance(item, _CardDue):
            return [self._card_due(time_ns, item)]
        if isinstance(item, _FeeDue):
            return [self._fee_due(time_ns, item)]
        return [self._settlement_due(time_ns, item)]

    def _new_event(self, time_ns: int) -> list[Timed]:
        """One new top-level event; it may also post a fee if the budget allows."""
        self._pending_slots -= 1
        max_cost = self.transactions - self.committed - self._pending_slots
        point = self._rng.random() * self._kind_cum[-1]
        kind = self._kinds[bisect_right(self._kind_cum, point)]
        out: list[Timed] | None
        if kind == "card_auth":
            out = self._card_auth(time_ns, max_cost)
        elif kind == "p2p":
            out = self._p2p(time_ns)
        elif kind == "withdrawal":
            out = self._withdrawal(time_ns, max_cost)
        elif kind == "conversion":
            out = self._conversion(time_ns)
        elif kind == "p2p_reversal":
            out = self._p2p_reversal(time_ns)
        elif kind == "adjustment":
            out = [self._adjustment(time_ns)]
        else:
            out = None
        return out if out is not None else [self._deposit(time_ns)]

    # --- helpers ------------------------------------------------------------------------

    def _lognormal(self, median: int, sigma: float, low: int, high: int) -> int:
        value = int(median * math.exp(sigma * self._rng.normalvariate(0.0, 1.0)))
        return min(high, max(low, value))

    def _key(self) -> str:
        return uuid4_text(self._rng.getrandbits(128))

    def _external(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial:08d}"

    def _user(self) -> int:
        point = self._rng.random() * self._activity[-1]
        return min(bisect_right(self._activity, point), self.users - 1)

    def _currency(self, user: int) -> Currency:
        eur = self._eur_user[user] and self._rng.random() < _EUR_ACTIVITY_SHARE
        return "eur" if eur else "usd"

    def _spender(self, need: int) -> tuple[int, Currency] | None:
        """A user and currency whose available balance covers ``need`` (a few tries)."""
        for _ in range(4):
            user = self._user()
            currency = self._currency(user)
            if self._avail[currency][user] >= need:
                return user, currency
        return None

    def _post(
        self,
        time_ns: int,
        label: str,
        legs: tuple[EntrySpec, ...],
        *,
        key: str | None = None,
        pending: bool = False,
        kind: Literal["standard", "adjustment", "opening"] = "standard",
        external_id: str | None = None,
        description: str = "",
    ) -> Timed:
        """A new top-level transaction; remembers its signature and counts it."""
        debit, credit = legs[0], legs[1]
        self._recent.add(time_ns, (debit.account_id, credit.account_id, debit.amount))
        self.stats[label] += 1
        request = PostTransaction(
            idempotency_key=key or self._key(),
            entries=legs,
            pending=pending,
            kind=kind,
            external_id=external_id,
            description=description,
            metadata=(("event", label),),
        )
        return Timed(time_ns, request)

    # --- new events ---------------------------------------------------------------------

    def _deposit(self, time_ns: int) -> Timed:
        """ACH (USD) or SEPA (EUR) deposit, held pending until it clears about 3 days later."""
        rng = self._rng
        user = self._user()
        currency = self._currency(user)
        clearing, wallet = CLEARING[currency], wallet_account(user, currency)
        amount = self._lognormal(25_000, 0.9, 1_000, 2_000_000)
        amount = self._recent.free_amount(time_ns, clearing, wallet, amount, step=1)
        key = self._key()
        returned = rng.random() < _RETURNED_SHARE
        delay = rng.randrange(2 * DAY, 4 * DAY) if returned else rng.randrange(60 * HOUR, 84 * HOUR)
        if time_ns + delay < self.month.scenario_end_ns:
            tx_id = derived_transaction_id(LEDGER_ID, key)
            self._push(time_ns + delay, _DepositDue(tx_id, user, currency, amount, returned))
        self.committed += 1
        rail = "ach" if currency == "usd" else "sepa"
        return self._post(
            time_ns,
            "deposit",
            _move(clearing, wallet, amount, ASSET[currency]),
            key=key,
            pending=True,
            external_id=self._external(rail),
            description=f"{rail.upper()} deposit",
        )

    def _card_auth(self, time_ns: int, max_cost: int) -> list[Timed] | None:
        """Card authorisation held on the wallet; captured (maybe in part) or voided later."""
        rng = self._rng
        found = self._spender(500)
        if found is None:
            return None
        user, currency = found
        wallet, payable = wallet_account(user, currency), CARD_PAYABLE[currency]
        avail = self._avail[currency][user]
        amount = min(self._lognormal(3_500, 1.0, 100, 300_000), avail * 3 // 4)
        amount = self._recent.free_amount(time_ns, wallet, payable, amount, step=-1)
        outcome = rng.random()
        if outcome < _VOID_SHARE:
            captured = 0
        elif outcome < _VOID_SHARE + _PARTIAL_SHARE:
            captured = max(1, amount * rng.randrange(60, 99) // 100)
        else:
            captured = amount
        due = time_ns + rng.randrange(10 * MINUTE, 48 * HOUR)
        in_month = due < self.month.scenario_end_ns
        fee = 0
        if captured and in_month and currency == "usd" and max_cost >= _WITH_FEE:
            fee_run = (due - self.month.start_ns) // DAY * DAY + self.month.start_ns + DAY
            if fee_run + 2 * HOUR < self.month.scenario_end_ns:
                fee = _card_fee(amount)
        if avail < amount + fee:
            return None
        key = self._key()
        self._avail[currency][user] -= amount + fee
        self.committed += 2 if fee else 1
        if in_month:
            tx_id = derived_transaction_id(LEDGER_ID, key)
            self._push(due, _CardDue(tx_id, user, currency, amount, captured, fee))
        return [
            self._post(
                time_ns,
                "card_auth",
                _move(wallet, payable, amount, ASSET[currency]),
                key=key,
                pending=True,
                external_id=self._external("auth"),
                description="Card authorisation",
            )
        ]

    def _p2p(self, time_ns: int) -> list[Timed] | None:
        """Wallet-to-wallet payment; every so often the client retries it (a benign replay)."""
        found = self._spender(100)
        if found is None:
            return None
        sender, currency = found
        receiver = self._user()
        if receiver == sender:
            receiver = (receiver + 1) % self.users
        debit, credit = wallet_account(sender, currency), wallet_account(receiver, currency)
        avail = self._avail[currency][sender]
        amount = min(self._lognormal(4_000, 1.0, 100, 500_000), avail)
        amount = self._recent.free_amount(time_ns, debit, credit, amount, step=-1)
        self._avail[currency][sender] -= amount
        self._avail[currency][receiver] += amount
        self.committed += 1
        timed = self._post(
            time_ns,
            "p2p",
            _move(debit, credit, amount, ASSET[currency]),
            external_id=self._external("p2p"),
            description="P2P payment",
        )
        tx_id = derived_transaction_id(LEDGER_ID, timed.request.idempotency_key)
        self._remember_p2p(_P2P(tx_id, sender, receiver, currency, amount))
        self._p2p_count += 1
        if self._p2p_count % self._retry_stride != self._retry_stride // 2:
            return [timed]
        self.stats["client_retry"] += 1
        return [timed, Timed(time_ns + 2 * NS, timed.request, retry=True)]

    def _remember_p2p(self, p2p: _P2P) -> None:
        self._recent_p2p.append(p2p)
        if len(self._recent_p2p) > _RECENT_P2P_MAX:
            del self._recent_p2p[: _RECENT_P2P_MAX // 2]

    def _withdrawal(self, time_ns: int, max_cost: int) -> list[Timed] | None:
        """Payout to the user's bank; instant USD payouts pay a fee at once."""
        found = self._spender(2_000)
        if found is None:
            return None
        user, currency = found
        wallet, bank = wallet_account(user, currency), BANK[currency]
        avail = self._avail[currency][user]
        amount = min(self._lognormal(20_000, 0.9, 1_000, 1_000_000), avail * 9 // 10)
        amount = self._recent.free_amount(time_ns, wallet, bank, amount, step=-1)
        instant = (
            currency == "usd" and max_cost >= _WITH_FEE and self._rng.random() < _INSTANT_SHARE
        )
        fee = 25 + amount // 100 if instant else 0
        fee = self._recent.free_amount(time_ns, wallet, FEE_REVENUE, fee, step=-1) if fee else 0
        if avail < amount + fee:
            return None
        self._avail[currency][user] -= amount + fee
        self.committed += 2 if fee else 1
        payout = self._post(
            time_ns,
            "withdrawal",
            _move(wallet, bank, amount, ASSET[currency]),
            external_id=self._external("payout"),
            description="Instant withdrawal" if fee else "Withdrawal",
        )
        if not fee:
            return [payout]
        return [
            payout,
            self._post(
                time_ns + MINUTE // 1000,
                "fee",
                _move(wallet, FEE_REVENUE, fee, USD),
                external_id=self._external("fee"),
                description="Instant withdrawal fee",
            ),
        ]

    def _conversion(self, time_ns: int) -> list[Timed] | None:
        """USD -> EUR (mostly) or EUR -> USD through the multi-asset conversion account."""
        to_eur = self._rng.random() < _TO_EUR_SHARE
        source: Currency = "usd" if to_eur else "eur"
        target: Currency = "eur" if to_eur else "usd"
        for _ in range(4):
            user = self._user()
            if self._avail[source][user] >= _MIN_CONVERSION:
                break
        else:
            return None
        avail = self._avail[source][user]
        sold = min(self._lognormal(15_000, 0.8, 1_000, 1_000_000), avail)
        sold = self._recent.free_amount(
            time_ns, wallet_account(user, source), CONVERSION, sold, step=-1
        )
        rate = self._rate_ppm if to_eur else _PPM * _PPM // self._rate_ppm
        bought = max(1, sold * rate // _PPM)
        self._avail[source][user] -= sold
        self._avail[target][user] += bought
        self.committed += 1
        legs = (
            EntrySpec(wallet_account(user, source), ASSET[source], "debit", sold),
            EntrySpec(CONVERSION, ASSET[source], "credit", sold),
            EntrySpec(CONVERSION, ASSET[target], "debit", bought),
            EntrySpec(wallet_account(user, target), ASSET[target], "credit", bought),
        )
        return [
            self._post(
                time_ns,
                "conversion",
                legs,
                external_id=self._external("fx"),
                description=f"Convert {source.upper()} to {target.upper()}",
            )
        ]

    def _p2p_reversal(self, time_ns: int) -> list[Timed] | None:
        """Reverse a recent P2P payment whose receiver still holds the money."""
        for _ in range(4):
            if not self._recent_p2p:
                return None
            index = self._rng.randrange(len(self._recent_p2p))
            p2p = self._recent_p2p[index]
            if self._avail[p2p.currency][p2p.receiver] >= p2p.amount:
                break
        else:
            return None
        self._recent_p2p[index] = self._recent_p2p[-1]
        self._recent_p2p.pop()
        self._avail[p2p.currency][p2p.receiver] -= p2p.amount
        self._avail[p2p.currency][p2p.sender] += p2p.amount
        self._recent.add(
            time_ns,
            (
                wallet_account(p2p.receiver, p2p.currency),
                wallet_account(p2p.sender, p2p.currency),
                p2p.amount,
            ),
        )
        self.committed += 1
        self.stats["p2p_reversal"] += 1
        request = ReverseTransaction(
            idempotency_key=self._key(),
            transaction_id=p2p.transaction_id,
            description="P2P payment reversed at the sender's request",
        )
        return [Timed(time_ns, request)]

    def _adjustment(self, time_ns: int) -> Timed:
        """A goodwill credit booked to the adjustments expense."""
        user = self._user()
        currency = self._currency(user)
        expense, wallet = ADJUSTMENTS[currency], wallet_account(user, currency)
        amount = self._rng.randrange(500, 5_001)
        amount = self._recent.free_amount(time_ns, expense, wallet, amount, step=1)
        self._avail[currency][user] += amount
        self.committed += 1
        return self._post(
            time_ns,
            "adjustment",
            _move(expense, wallet, amount, ASSET[currency]),
            kind="adjustment",
            external_id=self._external("adj"),
            description="Goodwill credit",
        )

    # --- follow-ups ---------------------------------------------------------------------

    def _deposit_due(self, time_ns: int, due: _DepositDue) -> Timed:
        if due.returned:
            self.stats["deposit_return"] += 1
            return Timed(
                time_ns,
                VoidPending(self._key(), due.transaction_id, description="Deposit returned (R01)"),
            )
        self._avail[due.currency][due.user] += due.amount
        self._to_settle[("clearing", due.currency)] += due.amount
        self.stats["deposit_post"] += 1
        return Timed(
            time_ns, PostPending(self._key(), due.transaction_id, description="Deposit cleared")
        )

    def _card_due(self, time_ns: int, due: _CardDue) -> Timed:
        avail = self._avail[due.currency]
        if not due.captured:
            avail[due.user] += due.amount + due.fee_reserved
            self.stats["card_void"] += 1
            return Timed(
                time_ns,
                VoidPending(self._key(), due.transaction_id, description="Authorisation voided"),
            )
        self._to_settle[("card", due.currency)] += due.captured
        if due.fee_reserved:
            fee = _card_fee(due.captured)
            avail[due.user] += due.fee_reserved - fee
            fee_run = (time_ns - self.month.start_ns) // DAY * DAY + self.month.start_ns + DAY
            fee_run += 2 * HOUR
            order = self._fee_runs.get(fee_run, 0)
            self._fee_runs[fee_run] = order + 1
            self._push(
                fee_run + order * (MINUTE // 1000),
                _FeeDue(due.user, fee, fee, due.transaction_id),
            )
        avail[due.user] += due.amount - due.captured
        if due.captured == due.amount:
            self.stats["capture_full"] += 1
            return Timed(
                time_ns, PostPending(self._key(), due.transaction_id, description="Card capture")
            )
        self.stats["capture_partial"] += 1
        wallet = wallet_account(due.user, due.currency)
        legs = _move(wallet, CARD_PAYABLE[due.currency], due.captured, ASSET[due.currency])
        return Timed(
            time_ns,
            PostPending(
                self._key(), due.transaction_id, entries=legs, description="Partial card capture"
            ),
        )

    def _fee_due(self, time_ns: int, due: _FeeDue) -> Timed:
        wallet = wallet_account(due.user, "usd")
        fee = self._recent.free_amount(time_ns, wallet, FEE_REVENUE, due.amount, step=-1)
        self._avail["usd"][due.user] += due.reserved - fee
        return self._post(
            time_ns,
            "fee",
            _move(wallet, FEE_REVENUE, fee, USD),
            external_id=self._external("fee"),
            description=f"Card transaction fee for {due.source}",
        )

    def _settlement_due(self, time_ns: int, due: _SettlementDue) -> Timed:
        asset = ASSET[due.currency]
        if due.what == "clearing":
            legs = _move(BANK[due.currency], CLEARING[due.currency], due.amount, asset)
            text = "ACH" if due.currency == "usd" else "SEPA"
            description = f"{text} clearing sweep through {due.label}"
        else:
            legs = _move(CARD_PAYABLE[due.currency], BANK[due.currency], due.amount, asset)
            description = f"Card network settlement through {due.label}"
        return self._post(
            time_ns,
            "settlement",
            legs,
            external_id=f"settle-{due.what}-{due.currency}-{due.label}",
            description=description,
        )


def streamed_scenario(seed: int, transactions: int, month: Month) -> Scenario:
    """A scenario to stream in a child process (a module-level function: it is pickled)."""
    return Scenario(seed=seed, transactions=transactions, month=month)


_UUID4_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))
_UUID4_SET = (0x8000 << 48) | (4 << 76)


def uuid4_text(bits: int) -> str:
    """``str(uuid.UUID(int=bits, version=4))`` for 128 random bits, without the ``UUID``.

    Every request's idempotency key is one (1.4M at 1M transactions); building the object
    cost about three times the text.
    """
    text = f"{(bits & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _move(debit: str, credit: str, amount: int, asset_id: str) -> tuple[EntrySpec, ...]:
    return (
        EntrySpec(debit, asset_id, "debit", amount),
        EntrySpec(credit, asset_id, "credit", amount),
    )


def _card_fee(amount: int) -> int:
    """0.5 % of the captured amount plus 0.10 (never less than 10 minor units)."""
    return 10 + amount * 50 // _BPS


def _weekday(ns: int) -> int:
    return datetime.fromtimestamp(ns // NS, tz=UTC).weekday()
