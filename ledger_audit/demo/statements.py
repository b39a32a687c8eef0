"""The bank's view of the demo month: statements, a processor report, planted breaks, truth.

Every posted entry on an operating bank account (the latest version of its transaction)
is money the bank moved; the bank books it the same day and names the ledger's external id:
as the customer reference of a BAI2 ``16`` detail on the USD account, as the end-to-end id
of a camt.053 entry on the EUR account. The opening balances (posted the day before the
month) are the bank's first day, so the statements run from that day to the month's last
day: ``statements/operating-usd.bai2`` (one group per day, opening and closing ledger
balance each day) and ``statements/operating-eur.xml`` (one camt.053 statement per day).
``statements/processor-payouts.csv`` is the card processor's report (Stripe layout): the
captures on the card network payable and the payout that settled them, which is the card
settlement line on the bank statement.

The processor report is one of the statements the demo close reconciles (three ways: its
captures against the ledger's card network payable, each payout's net against the bank line
that names it; ``rules/default.toml`` maps the processor balance ``stripe``).

Unless the demo is clean, seven reconciliation breaks are planted in the bank's view (the
ledger is not touched), recorded in ``recon_answer_key.json`` under their ``recon.*`` rules
(eight entries: the netted payout is reported twice):

- a deposit that never arrives: a clearing sweep (mid-month, far from the period end) has no
  bank line (``recon.missing_external``);
- an unexpected bank fee on the month's last day (``recon.missing_internal``);
- a payout that nets fees: the processor collects its fee in the card settlement the ledger
  books gross; the report shows the fee (``recon.amount_mismatch`` between the bank line and
  the ledger, and ``recon.payout_untied`` on the processor's payout: a fee not booked, the
  ledger's payout short of the processor's);
- a duplicated bank line (``recon.duplicate_external``);
- an amount mismatch: a EUR withdrawal paid for another amount (``recon.amount_mismatch``);
- an item in transit: the last USD withdrawal books the day after the period
  (``recon.in_transit``);
- a batched deposit with no shared key: a few EUR opening transfers arrive as one line
  without references (``recon.suggested_match``: a unique subset-sum, proposed for a person).

Amounts of planted lines are drawn so that no open line equals an open item or a sum of
open items by chance (the only subset that adds up is the batch itself).
``statements/truth.json`` says which ledger items each bank line belongs to.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl
import sqlalchemy as sa

from ledger_audit.demo.answer_key import PlantedAnomaly, dump_json
from ledger_audit.demo.scenario import (
    BANK,
    CARD_PAYABLE,
    CURRENCIES,
    DAY,
    LEDGER_ID,
    NS,
    Currency,
    Month,
)
from ledger_audit.errors import InputError
from ledger_audit.exports.bai2 import Bai2Header, write_bai2
from ledger_audit.exports.camt053 import CamtHeader, write_camt053
from ledger_audit.exports.stripe import write_stripe_report
from ledger_audit.findings import RuleId
from ledger_audit.money import format_amount
from ledger_audit.schema.tables import entries, same_version, transactions
from ledger_audit.sources.bank.records import BALANCE_SCHEMA, RECORD_SCHEMA

STATEMENTS_DIR = "statements"
BAI2_FILE = "operating-usd.bai2"
CAMT_FILE = "operating-eur.xml"
PROCESSOR_FILE = "processor-payouts.csv"
TRUTH_FILE = "truth.json"
RECON_KEY_FILE = "recon_answer_key.json"

ACCOUNT_REF: dict[Currency, str] = {"usd": "US00DEMO0000000001", "eur": "DE00DEMO0000000002"}
"""The bank accounts as the statements name them (mapped in ``rules/default.toml``)."""

FILE_OF: dict[Currency, str] = {"usd": BAI2_FILE, "eur": CAMT_FILE}
ASSET_OF: dict[Currency, str] = {"usd": "USD/2", "eur": "EUR/2"}
_PROCESSOR = "DEMO CARD PROCESSOR"
_MAX_GROUP = 6
_ATTEMPTS = 200
_SAFE_DAYS = 7
"""A planted missing deposit lies this many days before the period end (wider than any rail)."""

# Transaction codes: BAI2 type codes for USD, ISO Domain/Family/Sub-family for EUR.
_CODES: dict[str, dict[Currency, str]] = {
    "opening": {"usd": "195", "eur": "PMNT/RCDT/ESCT"},
    "clearing": {"usd": "166", "eur": "PMNT/RCDT/ESCT"},
    "card": {"usd": "455", "eur": "PMNT/RDDT/ESDD"},
    "payout": {"usd": "495", "eur": "PMNT/ICDT/ESCT"},
    "fee": {"usd": "698", "eur": "ACMT/MDOP/CHRG"},
    "other_in": {"usd": "399", "eur": "PMNT/RCDT/OTHR"},
    "other_out": {"usd": "699", "eur": "PMNT/ICDT/OTHR"},
}
_TEXT = {
    "opening": "INCOMING TRANSFER OPENING FUNDS",
    "clearing": "ACH SETTLEMENT CREDIT",
    "card": "PROCESSOR SETTLEMENT DEBIT",
    "payout": "OUTGOING TRANSFER",
    "other_in": "CREDIT",
    "other_out": "DEBIT",
}


@dataclass(frozen=True, slots=True)
class BankItem:
    """A posted entry on an operating bank account: what the bank should show.

    Attributes:
        item_id: ``ledger_id:transaction_id:version:entry_index`` (the reconciler's id).
        transaction_id: its transaction.
        version: the version the entry belongs to.
        chain_seq: that version's chain position.
        currency: the bank account's currency.
        amount: signed minor units in the bank's view (a debit to the bank is money in).
        day: the UTC day of the effective time.
        effective_ns: the effective time.
        external_id: the transaction's external id.
        flow: ``opening``, ``clearing``, ``card``, ``payout`` or ``other``.
    """

    item_id: str
    transaction_id: str
    version: int
    chain_seq: int
    currency: Currency
    amount: int
    day: dt.date
    effective_ns: int
    external_id: str | None
    flow: str


@dataclass(frozen=True, slots=True)
class _Line:
    """One bank line as the bank books it, and the ledger items it belongs to (the truth)."""

    currency: Currency
    amount: int
    day: dt.date
    bank_ref: str
    reference: str | None
    text: str | None
    type_code: str
    items: tuple[str, ...]
    counterparty: str | None = None
    note: str = "matches its ledger item"


@dataclass(frozen=True, slots=True)
class StatementSet:
    """What :func:`write_statements` wrote.

    Attributes:
        directory: ``DIR/statements``.
        statements: reconcile's inputs: the bank statement files (BAI2 USD, camt.053 EUR)
            and the processor's payout report.
        processor_report: the processor's payout report (Stripe CSV), also in ``statements``.
        truth_path: ``truth.json``: which ledger items each bank line belongs to.
        recon_key_path: ``DIR/recon_answer_key.json``: the planted breaks.
        lines: bank lines written per currency (``usd``, ``eur``).
        anomalies: the planted breaks (empty for a clean demo).
    """

    directory: Path
    statements: tuple[Path, ...]
    processor_report: Path
    truth_path: Path
    recon_key_path: Path
    lines: tuple[tuple[str, int], ...]
    anomalies: tuple[PlantedAnomaly, ...] = field(default=())


# --- reading the ledger ---------------------------------------------------------------


def _flow(external_id: str | None) -> str:
    text = external_id or ""
    for prefix, flow in (
        ("opening-", "opening"),
        ("settle-clearing-", "clearing"),
        ("settle-card-", "card"),
        ("payout-", "payout"),
    ):
        if text.startswith(prefix):
            return flow
    return "other"


def _day(ns: int) -> dt.date:
    return dt.datetime.fromtimestamp(ns // NS, tz=dt.UTC).date()


def _posted_entries(engine: sa.Engine, accounts: dict[str, Currency]) -> list[sa.Row[Any]]:
    """Entries on ``accounts`` of each transaction's latest version, when that is posted.

    The accounts' entries come from their index, and each one's latest version and external
    id by a seek of the transactions' key for that entry alone: grouping every transaction
    first read the whole table in key order, a random read per row (at 10M transactions,
    a 19.6 GB file read back page by page).
    """
    tx, en = transactions, entries
    versions = transactions.alias("versions")
    of_entry = sa.and_(
        versions.c.ledger_id == en.c.ledger_id, versions.c.transaction_id == en.c.transaction_id
    )
    latest = sa.select(sa.func.max(versions.c.version)).where(of_entry).scalar_subquery()
    # ``|| ''`` keeps SQLite from taking max() off the external ids' index, which it would
    # walk from the end of the whole ledger's until it met this transaction's rows
    external = (
        sa.select(sa.func.max(versions.c.external_id.concat("")))
        .where(of_entry)
        .scalar_subquery()
        .label("external_id")
    )
    query = (
        sa.select(
            en.c.transaction_id,
            en.c.version,
            en.c.entry_index,
            en.c.account_id,
            en.c.direction,
            en.c.amount,
            tx.c.effective_ns,
            tx.c.chain_seq,
            external,
        )
        .join(tx, same_version(tx, en))
        .where(
            en.c.ledger_id == LEDGER_ID,
            en.c.account_id.in_(sorted(accounts)),
            tx.c.status == "posted",
            en.c.version == latest,
        )
        .order_by(tx.c.effective_ns, en.c.transaction_id, en.c.entry_index)
    )
    with engine.connect() as conn:
        rows: list[sa.Row[Any]] = list(conn.execute(query))
    return rows


def read_bank_items(engine: sa.Engine) -> list[BankItem]:
    """Every posted entry on an operating bank account, in effective-time order."""
    accounts = {BANK[c]: c for c in CURRENCIES}
    items: list[BankItem] = []
    for row in _posted_entries(engine, accounts):
        amount = int(str(row.amount))
        external_id = None if row.external_id is None else str(row.external_id)
        items.append(
            BankItem(
                item_id=f"{LEDGER_ID}:{row.transaction_id}:{row.version}:{row.entry_index}",
                transaction_id=str(row.transaction_id),
                version=int(str(row.version)),
                chain_seq=int(str(row.chain_seq)),
                currency=accounts[str(row.account_id)],
                amount=amount if row.direction == "debit" else -amount,
                day=_day(int(str(row.effective_ns))),
                effective_ns=int(str(row.effective_ns)),
                external_id=external_id,
                flow=_flow(external_id),
            )
        )
    return items


# --- the bank's lines -----------------------------------------------------------------


class _Refs:
    """Bank references: one running number per currency, prefixed by the booking day."""

    def __init__(self) -> None:
        self._next = dict.fromkeys(CURRENCIES, 0)

    def __call__(self, currency: Currency, day: dt.date) -> str:
        self._next[currency] += 1
        prefix = "B" if currency == "usd" else "E"
        return f"{prefix}{day:%y%m%d}{self._next[currency]:06d}"


def _code(flow: str, currency: Currency, amount: int) -> str:
    if flow in _CODES and flow != "other":
        return _CODES[flow][currency]
    return _CODES["other_in" if amount >= 0 else "other_out"][currency]


def _line_for(item: BankItem, refs: _Refs, payout_ids: dict[str, str]) -> _Line:
    flow = item.flow if item.flow in _TEXT else ("other_in" if item.amount >= 0 else "other_out")
    text = _TEXT[flow]
    counterparty = None
    if item.flow == "card":
        payout = payout_ids.get(item.transaction_id)
        text = f"{text} {payout}" if payout else text
        counterparty = _PROCESSOR
    return _Line(
        currency=item.currency,
        amount=item.amount,
        day=item.day,
        bank_ref=refs(item.currency, item.day),
        reference=item.external_id,
        text=text,
        type_code=_code(item.flow, item.currency, item.amount),
        items=(item.item_id,),
        counterparty=counterparty if item.currency == "eur" else None,
    )


# --- planting -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """The planted breaks, before they are applied to the lines."""

    missing: BankItem
    fee_amount: int
    netted: BankItem
    netted_fee: int
    duplicate: BankItem
    mismatch: BankItem
    mismatch_amount: int
    transit: BankItem
    batch: tuple[BankItem, ...]

    def open_items(self) -> list[BankItem]:
        return [self.missing, self.netted, self.mismatch, self.transit, *self.batch]

    def open_lines(self) -> list[tuple[Currency, int]]:
        return [
            ("usd", -self.fee_amount),
            (self.netted.currency, self.netted.amount - self.netted_fee),
            (self.duplicate.currency, self.duplicate.amount),
            (self.mismatch.currency, self.mismatch_amount),
            (self.batch[0].currency, sum(b.amount for b in self.batch)),
        ]


def _subset_sums(amounts: Sequence[int], target: int) -> list[tuple[int, ...]]:
    """Index tuples of 1..6 of ``amounts`` that add up to ``target`` (small lists only)."""
    found: list[tuple[int, ...]] = []
    for size in range(1, min(_MAX_GROUP, len(amounts)) + 1):
        found.extend(
            combo
            for combo in itertools.combinations(range(len(amounts)), size)
            if sum(amounts[i] for i in combo) == target
        )
    return found


def _no_coincidence(plan: _Plan) -> bool:
    """No open line equals open items by chance, nor an open item open lines (but the batch)."""
    items = plan.open_items()
    lines = plan.open_lines()
    batch_total = lines[-1][1]
    for currency in CURRENCIES:
        mine = [i.amount for i in items if i.currency == currency]
        theirs = [amount for c, amount in lines if c == currency]
        for index, amount in enumerate(theirs):
            same = [a for a in mine if (a > 0) == (amount > 0)]
            hits = _subset_sums(same, amount)
            is_batch = currency == plan.batch[0].currency and amount == batch_total
            allowed = 1 if is_batch and index == len(theirs) - 1 else 0
            if len(hits) != allowed:
                return False
        for amount in mine:
            same = [a for a in theirs if (a > 0) == (amount > 0)]
            if _subset_sums(same, amount):
                return False
    return True


def _pick(rng: random.Random, found: Sequence[BankItem], what: str) -> BankItem:
    if not found:
        raise InputError(
            "transactions",
            f"no ledger item suitable for {what} in the bank's view (use more transactions, "
            "or a clean demo)",
        )
    return rng.choice(list(found))


def _plan(rng: random.Random, items: Sequence[BankItem], month: Month) -> _Plan:
    last = _day(month.end_ns - 1)
    payouts = [i for i in items if i.flow == "payout"]
    usd_payouts = [i for i in payouts if i.currency == "usd"]
    transit = max(usd_payouts or payouts, key=lambda i: (i.effective_ns, i.item_id))
    if (last - transit.day).days > 1:
        raise InputError(
            "transactions", "no withdrawal in the month's last two days to hold in transit"
        )
    taken = {transit.item_id}

    def free(accept: Callable[[BankItem], bool]) -> list[BankItem]:
        return [i for i in items if i.item_id not in taken and accept(i)]

    openings = free(lambda i: i.flow == "opening" and i.currency == "eur")
    if len(openings) < 2:  # noqa: PLR2004 (a batch has two members at least)
        openings = free(lambda i: i.flow == "opening" and i.currency == "usd")
    size = rng.randint(2, min(4, len(openings)))
    batch = tuple(sorted(rng.sample(openings, size), key=lambda i: i.item_id))
    taken.update(b.item_id for b in batch)
    early = free(lambda i: i.flow == "clearing" and (last - i.day).days >= _SAFE_DAYS)
    missing = _pick(
        rng,
        [i for i in early if i.currency == "usd"] or early or free(lambda i: i.flow == "opening"),
        "a deposit that never arrives",
    )
    taken.add(missing.item_id)
    cards = free(lambda i: i.flow == "card")
    netted = _pick(rng, [i for i in cards if i.currency == "usd"] or cards, "a netted payout")
    taken.add(netted.item_id)
    eur_payouts = free(lambda i: i.flow == "payout" and i.currency == "eur")
    mismatch = _pick(rng, eur_payouts or free(lambda i: i.flow == "payout"), "an amount mismatch")
    taken.add(mismatch.item_id)
    duplicate = _pick(
        rng, free(lambda i: i.currency == "usd" and i.day <= last), "a duplicated bank line"
    )
    for _ in range(_ATTEMPTS):
        delta = rng.randrange(1, 5_000)
        plan = _Plan(
            missing=missing,
            fee_amount=rng.randrange(1_500, 4_500),
            netted=netted,
            netted_fee=10 + abs(netted.amount) * 25 // 10_000 + rng.randrange(0, 50),
            duplicate=duplicate,
            mismatch=mismatch,
            mismatch_amount=mismatch.amount - delta
            if mismatch.amount < 0
            else mismatch.amount + delta,
            transit=transit,
            batch=batch,
        )
        if _no_coincidence(plan):
            return plan
    raise InputError("seed", "could not draw planted amounts free of coincidences")


def _apply(plan: _Plan, lines: list[_Line], refs: _Refs, last: dt.date) -> list[_Line]:
    by_item = {line.items[0]: line for line in lines}
    out: list[_Line] = []
    batch_ids = {b.item_id for b in plan.batch}
    for line in lines:
        key = line.items[0]
        if key in {plan.missing.item_id, plan.transit.item_id} or key in batch_ids:
            continue
        if key == plan.netted.item_id:
            line = replace(  # noqa: PLW2901
                line,
                amount=line.amount - plan.netted_fee,
                note=f"card settlement net of a processor fee of {plan.netted_fee}",
            )
        elif key == plan.mismatch.item_id:
            line = replace(line, amount=plan.mismatch_amount, note="paid for another amount")  # noqa: PLW2901
        out.append(line)
        if key == plan.duplicate.item_id:
            out.append(replace(line, note="the same line reported twice"))
    first = by_item[plan.batch[0].item_id]
    out.append(
        _Line(
            currency=first.currency,
            amount=sum(b.amount for b in plan.batch),
            day=first.day,
            bank_ref=refs(first.currency, first.day),
            reference=None,
            text=f"CREDIT BATCH {len(plan.batch)} ITEMS",
            type_code=_CODES["opening"][first.currency],
            items=tuple(b.item_id for b in plan.batch),
            note="several deposits booked as one line without references",
        )
    )
    out.append(
        _Line(
            currency="usd",
            amount=-plan.fee_amount,
            day=last,
            bank_ref=refs("usd", last),
            reference=None,
            text="MONTHLY ACCOUNT MAINTENANCE FEE",
            type_code=_CODES["fee"]["usd"],
            items=(),
            note="bank fee the ledger does not book",
        )
    )
    return out


def _key(
    plan: _Plan, lines: list[_Line], processor: pl.DataFrame, payout_ids: dict[str, str]
) -> list[PlantedAnomaly]:
    by_note = {line.note: line for line in lines}
    fee_line = by_note["bank fee the ledger does not book"]
    batch_line = by_note["several deposits booked as one line without references"]
    line_of = {line.items[0]: line for line in lines if len(line.items) == 1}

    def entry(
        rule: RuleId,
        item: BankItem | None,
        line: _Line | None,
        description: str,
        *,
        item_id: str | None = None,
    ) -> PlantedAnomaly:
        currency = item.currency if item is not None else line.currency if line else "usd"
        return PlantedAnomaly(
            rule=rule,
            ledger_id=LEDGER_ID,
            transaction_id=item.transaction_id if item is not None else None,
            version=item.version if item is not None else None,
            chain_seq=item.chain_seq if item is not None else None,
            description=description,
            account_id=BANK[currency],
            asset_id=ASSET_OF[currency],
            item_id=item_id or (item.item_id if item is not None else None),
            file=f"{STATEMENTS_DIR}/{FILE_OF[currency]}" if line is not None else None,
            bank_ref=line.bank_ref if line is not None else None,
        )

    def money(item: BankItem, amount: int) -> str:
        return format_amount(amount, ASSET_OF[item.currency])

    netted, mismatch, dup = plan.netted, plan.mismatch, plan.duplicate
    netted_payout = payout_ids[netted.transaction_id]
    payout_row = processor.filter(
        (pl.col("payout_id") == netted_payout) & (pl.col("type_code") == "payout")
    ).row(0, named=True)
    # the settlement's entry 0 debits the card payable, entry 1 credits the bank
    payable_item = f"{netted.item_id.rsplit(':', 1)[0]}:0"
    return [
        PlantedAnomaly(
            rule=RuleId.RECON_PAYOUT_UNTIED,
            ledger_id=LEDGER_ID,
            transaction_id=netted.transaction_id,
            version=netted.version,
            chain_seq=netted.chain_seq,
            description=f"payout {netted_payout}: the processor's fee of "
            f"{money(netted, plan.netted_fee)} is not booked in the ledger, whose payout "
            f"{netted.external_id} is short of the processor's by it",
            account_id=CARD_PAYABLE[netted.currency],
            asset_id=ASSET_OF[netted.currency],
            item_id=payable_item,
            file=f"{STATEMENTS_DIR}/{PROCESSOR_FILE}",
            bank_ref=str(payout_row["bank_ref"]),
        ),
        entry(
            RuleId.RECON_MISSING_EXTERNAL,
            plan.missing,
            None,
            f"deposit settlement {plan.missing.external_id} of "
            f"{money(plan.missing, plan.missing.amount)} on {plan.missing.day} "
            "never reaches the bank",
        ),
        entry(
            RuleId.RECON_MISSING_INTERNAL,
            None,
            fee_line,
            f"bank fee of {format_amount(plan.fee_amount, 'USD/2')} on {fee_line.day} "
            f"({fee_line.bank_ref}) that the ledger does not book",
        ),
        entry(
            RuleId.RECON_AMOUNT_MISMATCH,
            netted,
            line_of[netted.item_id],
            f"card settlement {netted.external_id} booked gross {money(netted, netted.amount)}; "
            f"the processor's payout nets its fee of {money(netted, plan.netted_fee)}",
        ),
        entry(
            RuleId.RECON_DUPLICATE_EXTERNAL,
            None,
            line_of[dup.item_id],
            f"bank line {line_of[dup.item_id].bank_ref} for {dup.external_id} "
            f"({money(dup, dup.amount)}) reported twice",
        ),
        entry(
            RuleId.RECON_AMOUNT_MISMATCH,
            mismatch,
            line_of[mismatch.item_id],
            f"withdrawal {mismatch.external_id} of {money(mismatch, mismatch.amount)} paid by the "
            f"bank as {money(mismatch, plan.mismatch_amount)}",
        ),
        entry(
            RuleId.RECON_IN_TRANSIT,
            plan.transit,
            None,
            f"withdrawal {plan.transit.external_id} of {money(plan.transit, plan.transit.amount)} "
            f"on {plan.transit.day} books after the statement period",
        ),
        entry(
            RuleId.RECON_SUGGESTED_MATCH,
            None,
            batch_line,
            f"{len(plan.batch)} deposits ({', '.join(str(b.external_id) for b in plan.batch)}) "
            f"arrive as one line {batch_line.bank_ref} of "
            f"{money(plan.batch[0], batch_line.amount)} without references",
            item_id=";".join(b.item_id for b in plan.batch),
        ),
    ]


# --- the processor report -------------------------------------------------------------


def _processor_records(
    engine: sa.Engine, items: Sequence[BankItem], plan: _Plan | None
) -> tuple[pl.DataFrame, dict[str, str], list[dict[str, object]]]:
    """The processor's records, each card settlement's payout id, the records' truth.

    The truth says which ledger items each record is (fees are left out: a fee shares its
    balance transaction's reference).
    """
    payable = {CARD_PAYABLE[c]: c for c in CURRENCIES}
    rows: list[dict[str, object]] = []
    payout_ids: dict[str, str] = {}
    serial = itertools.count(1)
    settlements = [i for i in items if i.flow == "card"]
    posted = _posted_entries(engine, payable)
    for currency in CURRENCIES:
        captures = [
            r for r in posted if payable[str(r.account_id)] == currency and r.direction == "credit"
        ]
        asset = ASSET_OF[currency]
        open_captures = list(captures)
        for settlement in (s for s in settlements if s.currency == currency):
            cut = (settlement.effective_ns // DAY) * DAY
            covered = [c for c in open_captures if int(str(c.effective_ns)) < cut]
            open_captures = [c for c in open_captures if int(str(c.effective_ns)) >= cut]
            payout = f"po_{currency}{settlement.day:%Y%m%d}"
            payout_ids[settlement.transaction_id] = payout
            fee = (
                plan.netted_fee
                if plan is not None and plan.netted.item_id == settlement.item_id
                else 0
            )
            base = {
                "account_ref": "stripe",
                "asset_id": asset,
                "payout_id": payout,
                "batch_key": payout,
                "statement_id": payout,
            }
            gross_rows: list[tuple[int, dt.date, str | None, str | None]] = [
                (
                    -int(str(c.amount)),
                    _day(int(str(c.effective_ns))),
                    None if c.external_id is None else str(c.external_id),
                    f"{LEDGER_ID}:{c.transaction_id}:{c.version}:{c.entry_index}",
                )
                for c in covered
            ]
            if sum(g[0] for g in gross_rows) != settlement.amount:
                gross_rows = [(settlement.amount, settlement.day, settlement.external_id, None)]
            for index, (gross, day, source, item) in enumerate(gross_rows):
                txn = f"txn_{currency}{next(serial):07d}"
                common = base | {"booking_date": day, "bank_ref": txn, "tx_id": source}
                rows.append(
                    common
                    | {
                        "record_id": txn,
                        "amount": gross,
                        "type_code": "issuing_transaction",
                        "text": "Card capture",
                        "items": (item,) if item else (),
                    }
                )
                if index == 0 and fee:
                    rows.append(
                        common
                        | {
                            "record_id": f"{txn}:fee",
                            "amount": -fee,
                            "type_code": "fee",
                            "text": f"Stripe fee for {txn}",
                        }
                    )
            txn = f"txn_{currency}{next(serial):07d}"
            rows.append(
                base
                | {
                    "record_id": txn,
                    "bank_ref": txn,
                    "tx_id": payout,
                    "amount": -(settlement.amount - fee),
                    "booking_date": settlement.day,
                    "value_date": settlement.day,
                    "type_code": "payout",
                    "text": "Payout (debit of the operating account)",
                    # the settlement's entry 0 debits the card payable
                    "items": (f"{settlement.item_id.rsplit(':', 1)[0]}:0",),
                }
            )
        for capture in open_captures:
            txn = f"txn_{currency}{next(serial):07d}"
            rows.append(
                {
                    "account_ref": "stripe",
                    "asset_id": asset,
                    "record_id": txn,
                    "bank_ref": txn,
                    "tx_id": None if capture.external_id is None else str(capture.external_id),
                    "amount": -int(str(capture.amount)),
                    "booking_date": _day(int(str(capture.effective_ns))),
                    "type_code": "issuing_transaction",
                    "text": "Card capture (not yet paid out)",
                    "items": (
                        (
                            f"{LEDGER_ID}:{capture.transaction_id}:{capture.version}:"
                            f"{capture.entry_index}"
                        ),
                    ),
                }
            )
    frame = pl.DataFrame(
        [
            {"source": "stripe", "status": "BOOK", "reversal": False}
            | {
                name: row.get(name)
                for name in RECORD_SCHEMA
                if name not in {"source", "status", "reversal"}
            }
            for row in rows
        ],
        schema=RECORD_SCHEMA,
        orient="row",
    )
    truth = [
        {
            "file": f"{STATEMENTS_DIR}/{PROCESSOR_FILE}",
            "account_ref": "stripe",
            "bank_ref": row["bank_ref"],
            "booking_date": row["booking_date"].isoformat(),  # type: ignore[attr-defined]
            "amount": row["amount"],
            "items": list(row["items"]),  # type: ignore[call-overload]
            "note": f"{row['type_code']} of {row.get('payout_id') or 'no payout yet'}",
        }
        for row in rows
        if row["type_code"] != "fee"  # a fee shares its balance transaction's reference
    ]
    return frame, payout_ids, truth


# --- writing --------------------------------------------------------------------------


def _records(lines: Sequence[_Line], currency: Currency, statement_id: str | None) -> pl.DataFrame:
    source = "bai2" if currency == "usd" else "camt053"
    usd = currency == "usd"
    rows = [
        {
            "source": source,
            "file": None,
            "line": None,
            "record_id": None,
            "statement_id": statement_id,
            "account_ref": ACCOUNT_REF[currency],
            "asset_id": ASSET_OF[currency],
            "amount": line.amount,
            "booking_date": line.day,
            "value_date": None,
            "status": "BOOK",
            "reversal": False,
            "bank_ref": line.bank_ref,
            "customer_ref": line.reference if usd else None,
            "end_to_end_id": None if usd else line.reference,
            "tx_id": None,
            "payout_id": None,
            "counterparty": line.counterparty,
            "text": line.text,
            "type_code": line.type_code,
            "batch_key": None,
        }
        for line in lines
        if line.currency == currency
    ]
    return pl.DataFrame(rows, schema=RECORD_SCHEMA, orient="row")


def _daily_statement_id(day: str) -> pl.Expr:
    return pl.concat_str(pl.lit("STMT-EUR-"), pl.col(day).dt.to_string("%Y-%m-%d")).alias(
        "statement_id"
    )


def _balances(
    lines: Sequence[_Line],
    currency: Currency,
    days: list[dt.date],
    statement_id: str | None,
    *,
    daily: bool,
) -> pl.DataFrame:
    moved: dict[dt.date, int] = {}
    for line in lines:
        if line.currency == currency:
            moved[line.day] = moved.get(line.day, 0) + line.amount
    rows: list[dict[str, object]] = []
    balance = 0
    common = {
        "source": "bai2" if currency == "usd" else "camt053",
        "file": None,
        "line": None,
        "statement_id": statement_id,
        "account_ref": ACCOUNT_REF[currency],
        "asset_id": ASSET_OF[currency],
        "intermediate": False,
    }
    for day in days:
        if daily or day == days[0]:
            rows.append(common | {"kind": "OPBD", "date": day, "amount": balance})
        balance += moved.get(day, 0)
        if daily or day == days[-1]:
            rows.append(common | {"kind": "CLBD", "date": day, "amount": balance})
    return pl.DataFrame(rows, schema=BALANCE_SCHEMA, orient="row")


def write_statements(
    engine: sa.Engine, out_dir: Path, *, seed: int, month: Month, clean: bool
) -> StatementSet:
    """Write the bank statements, processor report, truth and recon key of a built demo."""
    items = read_bank_items(engine)
    first, last = _day(month.start_ns - DAY), _day(month.end_ns - 1)
    in_period = [i for i in items if first <= i.day <= last]
    rng = random.Random(f"ledger-audit demo statements {seed}")  # noqa: S311 - a simulation
    plan = None if clean else _plan(rng, in_period, month)
    processor, payout_ids, processor_truth = _processor_records(engine, in_period, plan)
    refs = _Refs()
    lines = [_line_for(item, refs, payout_ids) for item in in_period]
    if plan is not None:
        lines = _apply(plan, lines, refs, last)
    directory = out_dir / STATEMENTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    created = dt.datetime.fromtimestamp(month.end_ns // NS, tz=dt.UTC) + dt.timedelta(hours=6)
    label = month.label.replace("-", "")
    usd_path, eur_path = directory / BAI2_FILE, directory / CAMT_FILE
    ordered = sorted(lines, key=lambda line: (line.day, line.bank_ref))
    write_bai2(
        usd_path,
        _records(ordered, "usd", None),
        _balances(ordered, "usd", days, None, daily=True),
        Bai2Header("DEMOBANKUS", "LEDGERAUDIT", label, created),
    )
    # One camt.053 statement per day, as banks send them: the drift report compares the
    # ledger with each day's closing balance.
    write_camt053(
        eur_path,
        _records(ordered, "eur", None).with_columns(_daily_statement_id("booking_date")),
        _balances(ordered, "eur", days, None, daily=True).with_columns(_daily_statement_id("date")),
        CamtHeader(f"CAMT053-{label}", created),
    )
    report = write_stripe_report(directory / PROCESSOR_FILE, processor)
    truth = [
        {
            "file": f"{STATEMENTS_DIR}/{FILE_OF[line.currency]}",
            "account_ref": ACCOUNT_REF[line.currency],
            "bank_ref": line.bank_ref,
            "booking_date": line.day.isoformat(),
            "amount": line.amount,
            "items": list(line.items),
            "note": line.note,
        }
        for line in ordered
    ]
    truth += processor_truth
    if plan is not None:
        truth.append(
            {
                "file": None,
                "account_ref": ACCOUNT_REF[plan.transit.currency],
                "bank_ref": None,
                "booking_date": (last + dt.timedelta(days=1)).isoformat(),
                "amount": plan.transit.amount,
                "items": [plan.transit.item_id],
                "note": "books after the statement period",
            }
        )
    truth_path = directory / TRUTH_FILE
    truth_path.write_text(dump_json(truth), encoding="utf-8")
    anomalies = tuple(_key(plan, lines, processor, payout_ids)) if plan is not None else ()
    return StatementSet(
        directory=directory,
        statements=(usd_path, eur_path, report),
        processor_report=report,
        truth_path=truth_path,
        recon_key_path=out_dir / RECON_KEY_FILE,
        lines=tuple((c, sum(1 for line in lines if line.currency == c)) for c in CURRENCIES),
        anomalies=anomalies,
    )
