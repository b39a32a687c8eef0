"""Write the home-grown payments ledger of this example, and its bank's statement.

    .venv/bin/python examples/homegrown/build.py --out /tmp/homegrown [--clean]

writes OUT/payments.sqlite (schema.sql, one month of February 2025 in a small e-wallet:
deposits, peer-to-peer payments, fees, card authorisations captured or cancelled,
withdrawals) and OUT/statements/bank-2025-02.csv (the bank account's lines, in
ledger-audit's canonical statement layout). Without ``--clean`` three anomalies are planted,
each listed in OUT/planted.json:

- an unbalanced payment (a fee whose two lines differ by one cent);
- a duplicate payment (a peer-to-peer payment recorded twice, two minutes apart);
- a stored balance that drifted (account_totals of fee income off by 5.00 EUR).

Plain standard library only: this script stands for the application that owns the ledger,
not for ledger-audit. The same arguments write the same bytes.
"""

# ruff: noqa: INP001, T201, S311, DTZ001
# (a stand-alone script that prints what it wrote; seeded non-crypto randomness; naive local
# times on purpose: the application it stands for stores them that way)

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
IBAN = "DE89370400440532013000"
BANK, EQUITY, FEES, CARDS, CHARGES = "1010", "3000", "4000", "2900", "5000"
CUSTOMERS = ("anna", "ben", "chiara", "dev", "emil", "fatou")
START = datetime(2025, 2, 1, 8, 0, 0)  # naive local time, Europe/Berlin
SEED = 2025
DEPOSIT, P2P, CARD = 0.3, 0.55, 0.75  # cumulative odds of a customer's action; else withdraw
CANCEL = 0.2  # odds that a card authorisation is cancelled rather than captured


@dataclass
class Ledger:
    """What the builder writes, kept in memory first so the balances can be computed."""

    payments: list[tuple[int, str | None, str, str]] = field(default_factory=list)
    lines: list[tuple[int, int, str, int, str]] = field(default_factory=list)
    events: list[tuple[int, int, str, str]] = field(default_factory=list)
    available: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    statement: list[dict[str, str]] = field(default_factory=list)

    def pay(
        self,
        at: datetime,
        memo: str,
        legs: list[tuple[str, int]],
        *,
        reference: str | None = None,
        states: tuple[str, ...] = ("BOOKED",),
        gaps: tuple[timedelta, ...] = (),
    ) -> int:
        """One payment: ``legs`` are (account, signed cents, credit positive)."""
        pid = len(self.payments) + 1
        self.payments.append((pid, reference or f"P{pid:05d}", memo, stamp(at)))
        for account, cents in legs:
            self.lines.append((len(self.lines) + 1, pid, account, cents, "EUR"))
        when = at
        for i, state in enumerate(states):
            when = when + (gaps[i - 1] if i else timedelta(0))
            self.events.append((len(self.events) + 1, pid, state, stamp(when)))
        final = states[-1]
        for account, cents in legs:
            if final in ("BOOKED", "CAPTURED") or (final == "AUTHORIZED" and cents < 0):
                self.available[account] += cents
        if final in ("BOOKED", "CAPTURED"):
            for account, cents in legs:
                if account == BANK:
                    self.bank_line(when, -cents, memo, reference or f"P{pid}")
        return pid

    def bank_line(self, at: datetime, amount: int, text: str, ref: str) -> None:
        """The bank's view of a posted bank line: money in is positive (a ledger debit)."""
        self.statement.append(
            {
                "record_id": f"B{len(self.statement) + 1:04d}",
                "account_ref": IBAN,
                "asset_id": "EUR/2",
                "amount": str(amount),
                "booking_date": at.date().isoformat(),
                "value_date": at.date().isoformat(),
                "bank_ref": ref,
                "text": text,
            }
        )


def stamp(at: datetime) -> str:
    """Naive local time as the application stores it."""
    return at.strftime("%Y-%m-%d %H:%M:%S")


def wallet(name: str) -> str:
    """A customer's wallet account code."""
    return f"2100-{name}"


def accounts() -> list[tuple[str, str, str, str, int]]:
    """The chart of accounts: (code, title, type, currency, overdraft allowed)."""
    rows = [
        (BANK, "Bank EUR (Sparkasse current account)", "asset", "EUR", 1),
        (CARDS, "Card settlement payable", "liability", "EUR", 1),
        (EQUITY, "Owner's equity", "equity", "EUR", 1),
        (FEES, "Fee income", "income", "EUR", 1),
        (CHARGES, "Bank charges", "expense", "EUR", 1),
    ]
    rows += [(wallet(c), f"Wallet of {c.title()}", "liability", "EUR", 0) for c in CUSTOMERS]
    return sorted(rows)


def simulate(clean: bool) -> tuple[Ledger, list[dict[str, object]]]:
    """The month's payments, and the anomalies planted unless ``clean``."""
    rng = random.Random(SEED)
    ledger = Ledger()
    planted: list[dict[str, object]] = []
    ledger.pay(START - timedelta(hours=9), "Opening capital", [(BANK, -500_000), (EQUITY, 500_000)])
    at = START
    for day in range(27):
        at = START + timedelta(days=day, minutes=rng.randrange(0, 600))
        for name in CUSTOMERS:
            step = rng.random()
            me, other = wallet(name), wallet(rng.choice([c for c in CUSTOMERS if c != name]))
            amount = rng.randrange(500, 20_000)
            at += timedelta(minutes=rng.randrange(3, 40))
            if step < DEPOSIT or ledger.available[me] < amount + 100:
                ledger.pay(
                    at,
                    f"Deposit by {name}",
                    [(BANK, -amount), (me, amount)],
                    reference=f"DEP-{day:02d}-{name}",
                )
            elif step < P2P:
                ledger.pay(at, f"Payment {name} to {other}", [(me, -amount), (other, amount)])
                ledger.pay(at + timedelta(seconds=1), "Payment fee", [(me, -50), (FEES, 50)])
            elif step < CARD:
                states = ("AUTHORIZED", "CANCELLED" if rng.random() < CANCEL else "CAPTURED")
                ledger.pay(
                    at,
                    f"Card purchase by {name}",
                    [(me, -amount), (CARDS, amount)],
                    states=states,
                    gaps=(timedelta(hours=rng.randrange(1, 30)),),
                )
            else:
                ledger.pay(
                    at,
                    f"Withdrawal by {name}",
                    [(me, -amount), (BANK, amount)],
                    reference=f"WD-{day:02d}-{name}",
                )
    ledger.pay(at + timedelta(hours=1), "Account maintenance", [(CHARGES, -900), (BANK, 900)])
    ledger.pay(
        at + timedelta(hours=2),
        "Card purchase by anna (pending)",
        [(wallet("anna"), -100), (CARDS, 100)],
        states=("AUTHORIZED",),
    )
    if not clean:
        pid = ledger.pay(
            at + timedelta(hours=3), "Payment fee", [(wallet("ben"), -150), (FEES, 149)]
        )
        planted.append(
            {
                "rule": "entry.unbalanced",
                "payment_id": pid,
                "what": "a fee whose lines are -1.50 and +1.49 EUR",
            }
        )
        first = ledger.pay(
            at + timedelta(hours=4),
            "Payment chiara to dev",
            [(wallet("chiara"), -700), (wallet("dev"), 700)],
        )
        twin = ledger.pay(
            at + timedelta(hours=4, minutes=2),
            "Payment chiara to dev",
            [(wallet("chiara"), -700), (wallet("dev"), 700)],
            reference=f"P{first:05d}",
        )
        planted.append(
            {
                "rule": "payment.duplicate_suspected",
                "payment_id": twin,
                "other_payment_id": first,
                "what": "the same 7.00 EUR payment recorded twice, two minutes apart",
            }
        )
        planted.append(
            {
                "rule": "balance.drift",
                "account": FEES,
                "what": "account_totals of fee income 5.00 EUR higher than its lines",
            }
        )
    return ledger, planted


def totals(ledger: Ledger, clean: bool, refreshed: str) -> list[tuple[object, ...]]:
    """Stored balances as the application keeps them (posted and pending, in cents)."""
    final = {pid: state for _, pid, state, _ in ledger.events}
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for _, pid, account, cents, _ in ledger.lines:
        state = final[pid]
        if state == "CANCELLED":
            continue
        index = (0 if state in ("BOOKED", "CAPTURED") else 2) + (1 if cents > 0 else 0)
        cells[account][index] += abs(cents)
    if not clean:
        cells[FEES][1] += 500
    return [(a, "EUR", *cells[a], refreshed) for a in sorted(cells)]


COLUMNS = [
    "statement_id",
    "record_id",
    "account_ref",
    "asset_id",
    "amount",
    "booking_date",
    "value_date",
    "bank_ref",
    "text",
    "kind",
]


def daily_statements(lines: list[dict[str, str]]) -> list[dict[str, str]]:
    """One statement a day from the opening day to the month's end, with its balances."""
    rows: list[dict[str, str]] = []
    balance = 0
    day = date(2025, 1, 31)
    while day <= date(2025, 2, 28):
        booked = [line for line in lines if line["booking_date"] == day.isoformat()]
        statement = f"S{day:%Y%m%d}"
        stated = {
            "statement_id": statement,
            "account_ref": IBAN,
            "asset_id": "EUR/2",
            "booking_date": day.isoformat(),
        }
        rows.append({**stated, "amount": str(balance), "kind": "OPBD"})
        rows += [{**line, "statement_id": statement} for line in booked]
        balance += sum(int(line["amount"]) for line in booked)
        rows.append({**stated, "amount": str(balance), "kind": "CLBD"})
        day += timedelta(days=1)
    return rows


def build(out: Path, *, clean: bool) -> Path:
    """Write the database, the statement and planted.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    database = out / "payments.sqlite"
    database.unlink(missing_ok=True)
    ledger, planted = simulate(clean)
    refreshed = stamp(datetime(2025, 2, 28, 23, 0, 0))
    with closing(sqlite3.connect(database)) as conn:
        conn.executescript((HERE / "schema.sql").read_text(encoding="utf-8"))
        conn.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?, ?)", accounts())
        conn.executemany("INSERT INTO payments VALUES (?, ?, ?, ?)", ledger.payments)
        conn.executemany("INSERT INTO payment_lines VALUES (?, ?, ?, ?, ?)", ledger.lines)
        conn.executemany("INSERT INTO payment_events VALUES (?, ?, ?, ?)", ledger.events)
        conn.executemany(
            "INSERT INTO account_totals VALUES (?, ?, ?, ?, ?, ?, ?)",
            totals(ledger, clean, refreshed),
        )
        conn.commit()
    statements = out / "statements"
    statements.mkdir(exist_ok=True)
    with (statements / "bank-2025-02.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n", restval="")
        writer.writeheader()
        writer.writerows(daily_statements(ledger.statement))
    (out / "planted.json").write_text(json.dumps(planted, indent=2) + "\n", encoding="utf-8")
    return database


def main() -> None:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "out", help="output directory")
    parser.add_argument("--clean", action="store_true", help="plant no anomalies")
    args = parser.parse_args()
    database = build(args.out, clean=args.clean)
    print(f"wrote {database} and {args.out / 'statements' / 'bank-2025-02.csv'}")


if __name__ == "__main__":
    main()
