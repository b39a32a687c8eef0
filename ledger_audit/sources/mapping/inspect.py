"""Propose a source mapping from a source's catalogue and a sample of its rows (``init``).

The proposal says which relation holds the entries (one leg per row, or one transfer per
row), the transactions, the accounts, the stored balances and the currencies; how amounts
are written (integer minor units or exact decimals; a direction column or signed amounts,
and which sign convention, inferred from how accounts of a known class net in the sample);
which columns hold times and of what kind; and how status, direction and account-class
values map onto the canonical ones. Each decision is sure, guessed, or undecided: an
undecided key holds ``FILL-IN`` so that the reader refuses the mapping until a person
decides. Nothing here writes: ``exports.setup_files`` writes the files.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from ledger_audit.errors import InputError
from ledger_audit.sources.mapping import vocabulary as words
from ledger_audit.sources.mapping.account_guess import (
    Accounts,
    bank_accounts,
    gl_groups,
    normal_balance,
    read_accounts,
)
from ledger_audit.sources.mapping.catalogue import (
    SAMPLE_ROWS,
    SampledRelation,
    sample_source,
)
from ledger_audit.sources.mapping.field_guess import (
    Guess,
    amount_units,
    has_negative,
    time_field,
    value_map,
)
from ledger_audit.sources.mapping.proposal import (
    FILL_IN,
    Confidence,
    Decision,
    Inline,
    Proposal,
    Value,
)
from ledger_audit.sources.mapping.relation_roles import (
    EntriesChoice,
    Link,
    find_history,
    find_link,
    is_canonical,
    named,
    pick_entries,
)
from ledger_audit.sources.mapping.relations import Column, open_relations
from ledger_audit.sources.mapping.vocabulary import DIRECTIONS

SURE, GUESSED, UNDECIDED = Confidence.SURE, Confidence.GUESSED, Confidence.UNDECIDED
_STATUSES = frozenset({"pending", "posted", "archived"})
_KINDS = frozenset(
    {"standard", "pending", "post_pending", "void_pending", "reversal", "adjustment", "opening"}
)
_ZERO_SUM_SHARE = 0.95
"""Signed legs are taken as double entry when this share of sampled transactions nets to 0."""
_CLEAR_VOTE = 2 / 3
_ASSET_ID = re.compile(r"[A-Za-z0-9._-]+/\d{1,2}")
"""A canonical asset id, ``CODE/scale``: a currency value that carries its own scale."""


def inspect_source(source: str | Path, sample_rows: int = SAMPLE_ROWS) -> Proposal:
    """Open ``source`` read-only, sample every relation and propose a mapping.

    Raises InputError when the source cannot be read or has no relation that looks like
    entries.
    """
    with open_relations(source) as opened:
        relations = sample_source(opened, sample_rows)
        label = opened.label
    return propose(relations, label=label, ledger_id=ledger_id_of(source), sample_rows=sample_rows)


def ledger_id_of(source: str | Path) -> str:
    """A ledger id from the source's name: the database, file or folder name."""
    text = str(source)
    if "://" in text:
        database = sa.make_url(text).database or "ledger"
        name = Path(database).stem if "/" in database or "." in database else database
    else:
        path = Path(text)
        name = path.name if path.is_dir() else path.stem
    cleaned = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-")
    return cleaned or "ledger"


class _Sections:
    """Decisions collected per mapping section, written in the format's order."""

    ORDER = (
        "",
        "ledger",
        "assets",
        "accounts",
        "transactions",
        "transactions.history",
        "entries",
        "balances",
        "chain",
    )

    def __init__(self) -> None:
        self.items: dict[str, list[Decision]] = {name: [] for name in self.ORDER}
        self.naive = False
        """Whether a time read without a zone was mapped (the ledger's timezone applies)."""

    def add(self, key: str, value: Value | None, confidence: Confidence, reason: str) -> None:
        section = key.rpartition(".")[0]
        self.items[section].append(Decision(key, value, confidence, reason))

    def guess(self, key: str, guess: Guess) -> None:
        self.add(key, guess.value, guess.confidence, guess.reason)
        self.naive = self.naive or guess.naive

    def optional(self, key: str, relation: SampledRelation, names: Sequence[str], why: str) -> None:
        """A text column found by name, or the key left out with what that means."""
        column = relation.column(names)
        if column is None:
            self.add(key, None, SURE, f"no column named {names[0]} or alike: {why}")
        else:
            self.add(key, column.name, SURE, f"column {column.name!r} of {relation.name}")

    def all(self) -> tuple[Decision, ...]:
        return tuple(d for name in self.ORDER for d in self.items[name])


# --- which relation is what ------------------------------------------------------------------


# --- accounts ----------------------------------------------------------------------------------


def _account_section(sections: _Sections, accounts: Accounts, normal: Guess) -> None:
    relation = accounts.relation
    if relation is None or accounts.id_column is None:
        sections.add(
            "accounts.derive",
            value=True,
            confidence=SURE,
            reason="no accounts relation: accounts are taken from the entries",
        )
        sections.guess("accounts.normal_balance", normal)
        return
    if relation.stem in words.ACCOUNT_RELATIONS:
        sections.add("accounts.from", relation.name, SURE, "named like an accounts relation")
    else:
        sections.add(
            "accounts.from", relation.name, GUESSED, "its ids are the accounts the entries name"
        )
    sections.add(
        "accounts.id",
        accounts.id_column.name,
        SURE,
        "the column whose values the entries' accounts match",
    )
    name = relation.column([n for n in words.ACCOUNT_NAME if n != accounts.id_column.name.lower()])
    if name is not None:
        sections.add("accounts.name", name.name, SURE, f"column {name.name!r}")
    sections.guess("accounts.normal_balance", normal)
    currency = relation.column(words.CURRENCY)
    if currency is not None:
        sections.add("accounts.currency", currency.name, SURE, "single-currency accounts")
    allow = relation.column(words.ALLOW_NEGATIVE)
    if allow is not None:
        sections.add(
            "accounts.allow_negative",
            Inline((("column", allow.name),)),
            SURE,
            f"column {allow.name!r}",
        )
    for key, names in (("opened_at", words.OPENED_AT), ("closed_at", words.CLOSED_AT)):
        column = relation.column(names)
        if column is not None:
            sections.guess(f"accounts.{key}", time_field(relation, column))
    sections.optional("accounts.external_id", relation, words.EXTERNAL_ID, "no external ids")
    sections.optional("accounts.metadata", relation, words.METADATA, "no metadata")


# --- amounts, directions and the sign convention -------------------------------------------------


def _sign_votes(
    entries: SampledRelation, amount: Column, account: Column, accounts: Accounts
) -> tuple[int, int]:
    """(debit-positive, credit-positive) votes of accounts of a known class by their net."""
    normal = {
        g.account_id: words.NORMAL_OF_CLASS[g.account_class]
        for g in accounts.guesses
        if g.account_class is not None
    }
    nets = (
        entries.rows.select(
            pl.col(account.name).alias("account"),
            pl.col(amount.name).str.strip_chars().cast(pl.Decimal(38, 12), strict=False).alias("a"),
        )
        .drop_nulls()
        .group_by("account")
        .agg(pl.col("a").sum())
    )
    debit_positive = credit_positive = 0
    for account_id, net in nets.iter_rows():
        side = normal.get(str(account_id))
        if side is None or net == 0:
            continue
        if (side == "debit") == (net > 0):
            debit_positive += 1
        else:
            credit_positive += 1
    return debit_positive, credit_positive


def _zero_sum_share(
    entries: SampledRelation, amount: Column, transaction: Column | None
) -> float | None:
    if transaction is None:
        return None
    currency = entries.column(words.CURRENCY)
    keys = [transaction.name] + ([currency.name] if currency else [])
    sums = (
        entries.rows.select(
            *keys, pl.col(amount.name).str.strip_chars().cast(pl.Decimal(38, 12), strict=False)
        )
        .group_by(keys)
        .agg(pl.col(amount.name).sum())
    )
    if sums.is_empty():
        return None
    zero = int((sums[amount.name] == 0).sum())
    return zero / sums.height


def _signed_amount(
    entries: SampledRelation,
    amount: Column,
    units: Guess,
    accounts: Accounts,
    transaction: Column | None,
) -> Guess:
    account = entries.column(words.ACCOUNT)
    share = _zero_sum_share(entries, amount, transaction)
    balanced = "" if share is None else f"; {share:.0%} of sampled transactions net to zero"
    debit_votes, credit_votes = (
        _sign_votes(entries, amount, account, accounts) if account else (0, 0)
    )
    total = debit_votes + credit_votes
    head = (("column", amount.name), *((("units", "major"),) if units.value == "major" else ()))
    if total and max(debit_votes, credit_votes) >= _CLEAR_VOTE * total:
        sign = "debit_positive" if debit_votes > credit_votes else "credit_positive"
        share_ok = share is None or share >= _ZERO_SUM_SHARE
        reason = (
            f"signed amounts, {sign}: {max(debit_votes, credit_votes)} of {total} accounts of a "
            f"known class net that way{balanced}"
        )
        confidence = GUESSED if units.confidence != UNDECIDED and share_ok else UNDECIDED
        if confidence == UNDECIDED:
            return Guess(FILL_IN, UNDECIDED, reason + f"; {units.reason}")
        return Guess(Inline((*head, ("sign", sign))), confidence, reason)
    return Guess(
        FILL_IN,
        UNDECIDED,
        f"signed amounts in {amount.name!r}{balanced}, but no account of a known class shows the "
        f'convention: write {{ column = "{amount.name}", sign = "debit_positive" }} or '
        '"credit_positive"',
    )


def _entry_legs(
    sections: _Sections, entries: EntriesChoice, accounts: Accounts, link: Link
) -> None:
    relation = entries.relation
    amount = relation.column(words.AMOUNT)
    if amount is None:  # pragma: no cover - pick_entries needs one
        return
    units = amount_units(relation, amount)
    plain: Value = (
        amount.name
        if units.value == "minor"
        else Inline((("column", amount.name), ("units", "major")))
    )
    if entries.transfer:
        debit = relation.column(words.DEBIT_ACCOUNT)
        credit = relation.column(words.CREDIT_ACCOUNT)
        sections.add("entries.debit_account", debit.name if debit else FILL_IN, SURE, "by name")
        sections.add("entries.credit_account", credit.name if credit else FILL_IN, SURE, "by name")
        sections.add(
            "entries.amount",
            FILL_IN if units.value == FILL_IN else plain,
            units.confidence,
            units.reason,
        )
        return
    account = relation.column(words.ACCOUNT)
    sections.add("entries.account", account.name if account else FILL_IN, SURE, "by name")
    direction = _direction_column(relation)
    if units.value == FILL_IN:
        sections.guess("entries.amount", units)
    elif direction is not None:
        sections.add("entries.amount", plain, units.confidence, units.reason)
    elif has_negative(relation, amount.name):
        sections.guess(
            "entries.amount",
            _signed_amount(relation, amount, units, accounts, link.entry_column),
        )
    else:
        sections.add("entries.amount", plain, units.confidence, units.reason)
    if direction is not None:
        direction_words = {k: (v, True) for k, v in words.DIRECTION_WORDS.items()}
        sections.guess(
            "entries.direction",
            value_map(relation, direction, direction_words, DIRECTIONS, "direction"),
        )
    elif not has_negative(relation, amount.name):
        sections.add(
            "entries.direction",
            FILL_IN,
            UNDECIDED,
            f"no direction column and no negative amount in {amount.name!r}: name the column "
            "that says debit or credit",
        )


def _direction_column(relation: SampledRelation) -> Column | None:
    """A direction column: named like one, and (for loose names like type) debit/credit values."""
    for name in words.DIRECTION:
        column = relation.column([name])
        if column is None:
            continue
        seen = {v.strip().lower() for v in relation.distinct(column.name)}
        if name in {"direction", "side", "dc", "debit_credit", "dr_cr"} or (
            seen and seen <= set(words.DIRECTION_WORDS)
        ):
            return column
    return None


def _entries_section(
    sections: _Sections, entries: EntriesChoice, accounts: Accounts, link: Link
) -> None:
    relation = entries.relation
    sections.add("entries.from", relation.name, SURE, entries.reason)
    sections.add("entries.shape", "transfer" if entries.transfer else "entry", SURE, entries.reason)
    row_id = relation.column(words.ROW_ID)
    if row_id is not None:
        sections.add("entries.row_id", row_id.name, SURE, "names rejected rows, orders legs")
    transaction = link.entry_column
    if transaction is not None:
        confidence = GUESSED if link.by_values else SURE
        sections.add("entries.transaction_id", transaction.name, confidence, link.reason)
    elif entries.transfer and row_id is not None:
        sections.add(
            "entries.transaction_id",
            None,
            SURE,
            "no transaction id: each transfer is its own transaction",
        )
    else:
        sections.add(
            "entries.transaction_id",
            FILL_IN,
            UNDECIDED,
            "no column names the transaction of each leg",
        )
    version = relation.column(words.VERSION)
    if (
        version is not None
        and link.transactions is not None
        and link.transactions.column(words.VERSION)
    ):
        sections.add("entries.version", version.name, SURE, "each version's own legs")
    if not entries.transfer:
        index = relation.column(words.INDEX)
        if index is not None:
            sections.add("entries.index", index.name, SURE, "orders the legs")
    _entry_legs(sections, entries, accounts, link)
    currency = relation.column(words.CURRENCY)
    if currency is None:
        sections.add(
            "entries.currency",
            FILL_IN,
            UNDECIDED,
            'no currency column: give the one currency as { value = "USD" }',
        )
        return
    with_scale = [v for v in relation.distinct(currency.name) if _ASSET_ID.fullmatch(v)]
    if with_scale:
        sections.add(
            "entries.currency",
            FILL_IN,
            UNDECIDED,
            f"{currency.name!r} holds asset ids like {with_scale[0]!r} (CODE/scale), not codes: "
            "name a code column, or read a query that takes the code before the '/'",
        )
    else:
        sections.add("entries.currency", currency.name, SURE, "by name")


# --- transactions ------------------------------------------------------------------------------


def _transactions_section(
    sections: _Sections,
    relations: Sequence[SampledRelation],
    entries: EntriesChoice,
    link: Link,
) -> None:
    """The transaction fields, read from the transactions relation or the entries'."""
    relation = link.transactions
    if relation is None:
        relation = entries.relation
        sections.add(
            "transactions.from",
            None,
            SURE if entries.transfer else GUESSED,
            "no transactions relation: the entries' relation gives the transactions"
            + ("" if entries.transfer else " (the legs of a transaction must agree)"),
        )
        id_column = link.entry_column or relation.column(words.ROW_ID)
    else:
        confidence = GUESSED if link.by_values else SURE
        sections.add("transactions.from", relation.name, confidence, link.reason)
        id_column = link.id_column
    version = relation.column(words.VERSION)
    history = None
    if relation.column(words.STATUS) is None and link.transactions is not None:
        history = find_history(relations, relation, entries.relation)
    if history is not None:
        sections.add("transactions.shape", "history", GUESSED, f"statuses in {history[0].name}")
    elif version is not None and relation is not entries.relation:
        sections.add("transactions.shape", "versioned", GUESSED, f"a {version.name!r} column")
        sections.add("transactions.version", version.name, GUESSED, "one row per version")
    else:
        sections.add("transactions.shape", "row", SURE, "one row per transaction")
    sections.add(
        "transactions.id",
        id_column.name if id_column else FILL_IN,
        SURE if id_column else UNDECIDED,
        "the column the entries' transaction ids match" if id_column else "no id column",
    )
    if history is None:
        _status(sections, relation)
    else:
        _history_section(sections, *history)
    _kind(sections, relation)
    _times(sections, relation)
    sections.optional("transactions.pending_id", relation, words.PENDING_ID, "no pending links")
    sections.optional("transactions.reverses_id", relation, words.REVERSES_ID, "no reversal links")
    sections.optional(
        "transactions.idempotency_key", relation, words.IDEMPOTENCY_KEY, "idempotency is not proven"
    )
    sections.optional("transactions.external_id", relation, words.EXTERNAL_ID, "no external ids")
    sections.optional("transactions.description", relation, words.DESCRIPTION, "no description")
    sections.optional("transactions.metadata", relation, words.METADATA, "no metadata")


def _history_section(
    sections: _Sections, relation: SampledRelation, link: Column, reason: str
) -> None:
    sections.add("transactions.history.from", relation.name, GUESSED, reason)
    sections.add("transactions.history.transaction_id", link.name, GUESSED, reason)
    status = relation.column(words.STATUS)
    if status is not None:
        sections.guess(
            "transactions.history.status",
            value_map(relation, status, words.STATUS_WORDS, _STATUSES, "status"),
        )
    at = relation.column(words.HISTORY_AT)
    if at is not None:
        sections.guess("transactions.history.at", time_field(relation, at))
    order = relation.column(words.HISTORY_ORDER)
    if order is not None:
        sections.add("transactions.history.order", order.name, SURE, "breaks ties of equal times")


def _kind(sections: _Sections, relation: SampledRelation) -> None:
    """``kind`` mapped when every sampled value is a known kind word; derived otherwise.

    Kind is optional (derived from status and version), so unknown words do not block the
    mapping: they are named, and the labels a derivation cannot give (opening, adjustment)
    are lost until the user maps them.
    """
    kind = relation.column(words.KIND)
    if kind is None:
        sections.add("transactions.kind", None, SURE, "derived from status and version")
        return
    guess = value_map(relation, kind, words.KIND_WORDS, _KINDS, "kind")
    if guess.confidence == UNDECIDED:
        sections.add(
            "transactions.kind",
            None,
            GUESSED,
            f"derived from status and version; {kind.name!r}: {guess.reason} to keep them",
        )
        return
    sections.guess("transactions.kind", guess)


def _status(sections: _Sections, relation: SampledRelation) -> None:
    status = relation.column(words.STATUS)
    if status is None:
        sections.add(
            "transactions.status",
            Inline((("value", "posted"),)),
            GUESSED,
            f"no status column in {relation.name}: every transaction is taken as posted",
        )
        return
    sections.guess(
        "transactions.status",
        value_map(relation, status, words.STATUS_WORDS, _STATUSES, "status"),
    )


def _times(sections: _Sections, relation: SampledRelation) -> None:
    recorded = relation.column(words.RECORDED_AT)
    effective = relation.column(
        [n for n in words.EFFECTIVE_AT if not recorded or n != recorded.name.lower()]
    )
    if recorded is None and effective is not None:
        recorded, effective = effective, None
    if recorded is None:
        sections.add(
            "transactions.recorded_at",
            FILL_IN,
            UNDECIDED,
            f"no time column in {relation.name} (created_at, recorded_at...): name it",
        )
    else:
        sections.guess("transactions.recorded_at", time_field(relation, recorded))
    if effective is None:
        sections.add(
            "transactions.effective_at",
            None,
            SURE,
            "no effective time column: the effective basis is the recorded basis",
        )
    else:
        sections.guess("transactions.effective_at", time_field(relation, effective))


# --- currencies, balances, chain ---------------------------------------------------------------


def _codes(entries: SampledRelation, accounts: Accounts) -> tuple[str, ...]:
    currency = entries.column(words.CURRENCY)
    seen = set(entries.distinct(currency.name)) if currency else set()
    seen.update(g.currency for g in accounts.guesses if g.currency)
    return tuple(sorted(seen))


def _assets_section(
    sections: _Sections,
    relations: Sequence[SampledRelation],
    codes: tuple[str, ...],
) -> tuple[tuple[str, int], ...]:
    """The scales; returns the known (code, scale) pairs.

    A currencies relation is used only when its codes hold every sampled currency value;
    values written as asset ids (``USD/2``) give their scales, but not a code column.
    """
    with_scale = [c for c in codes if _ASSET_ID.fullmatch(c)]
    if with_scale:
        pairs = tuple(sorted({(c.split("/")[0], int(c.split("/")[1])) for c in with_scale}))
        sections.add("assets.scales", Inline(pairs), GUESSED, "from the CODE/scale currency values")
        return pairs
    table = named(relations, words.CURRENCY_RELATIONS, [words.CURRENCY_CODE, words.CURRENCY_SCALE])
    code = None if table is None else table.column(words.CURRENCY_CODE)
    scale = None if table is None else table.column(words.CURRENCY_SCALE)
    if table is not None and code is not None and scale is not None:
        rows = table.rows.select(code.name, scale.name).drop_nulls().iter_rows()
        pairs = tuple(sorted((str(c), int(s)) for c, s in rows if str(s).isdigit()))
        if set(codes) <= {c for c, _ in pairs}:
            sections.add("assets.from", table.name, SURE, "a currencies relation with a scale")
            sections.add("assets.code", code.name, SURE, "holds every sampled currency value")
            sections.add("assets.scale", scale.name, SURE, "by name")
            return pairs
    known = tuple(
        (c, words.ISO_4217_SCALES[c.upper()]) for c in codes if c.upper() in words.ISO_4217_SCALES
    )
    unknown = [c for c in codes if c.upper() not in words.ISO_4217_SCALES]
    if not codes:
        sections.add(
            "assets.scale",
            FILL_IN,
            UNDECIDED,
            "no currency codes seen: the decimal places of the ledger's minor unit (2 for cents)",
        )
        return ()
    written: tuple[tuple[str, Value], ...] = (*known, *((c, FILL_IN) for c in unknown))
    if unknown:
        sections.add(
            "assets.scales",
            Inline(tuple(sorted(written, key=lambda pair: pair[0]))),
            UNDECIDED,
            f"{', '.join(unknown[:5])}: not ISO 4217 codes: give each its scale (its minor-unit "
            "digits)",
        )
    else:
        sections.add(
            "assets.scales", Inline(known), SURE, f"ISO 4217 minor units of {', '.join(codes)}"
        )
    return known


def _balances_section(sections: _Sections, relations: Sequence[SampledRelation]) -> None:
    needs = [
        words.BALANCE_ACCOUNT,
        words.POSTED_DEBITS,
        words.POSTED_CREDITS,
        words.PENDING_DEBITS,
        words.PENDING_CREDITS,
    ]
    relation = named(relations, words.BALANCE_RELATIONS, needs)
    if relation is None:
        near = named(relations, words.BALANCE_RELATIONS, [])
        why = (
            f"{near.name} lacks posted/pending debit and credit totals"
            if near is not None
            else "no balances relation"
        )
        sections.add("balances.from", None, SURE, f"{why}: the drift check reads no data")
        return
    sections.add("balances.from", relation.name, SURE, "named like stored balances")
    for key, names in (("account", words.BALANCE_ACCOUNT), ("currency", words.CURRENCY)):
        column = relation.column(names)
        sections.add(
            f"balances.{key}",
            column.name if column else FILL_IN,
            SURE if column else UNDECIDED,
            "by name" if column else f"no {key} column in {relation.name}",
        )
    totals: tuple[tuple[str, Sequence[str]], ...] = (
        ("posted_debits", words.POSTED_DEBITS),
        ("posted_credits", words.POSTED_CREDITS),
        ("pending_debits", words.PENDING_DEBITS),
        ("pending_credits", words.PENDING_CREDITS),
    )
    for key, candidates in totals:
        column = relation.column(candidates)
        if column is None:  # pragma: no cover - named required them
            continue
        units = amount_units(relation, column)
        value: Value = (
            column.name
            if units.value == "minor"
            else FILL_IN
            if units.value == FILL_IN
            else Inline((("column", column.name), ("units", "major")))
        )
        sections.add(f"balances.{key}", value, units.confidence, units.reason)
    as_of = relation.column(words.AS_OF)
    if as_of is None:
        sections.add("balances.as_of", FILL_IN, UNDECIDED, "no as-of time column: name it")
    else:
        sections.guess("balances.as_of", time_field(relation, as_of))
    lock = relation.column(words.LOCK_VERSION)
    if lock is not None:
        sections.add("balances.lock_version", lock.name, SURE, "by name")


def _chain_section(sections: _Sections, relation: SampledRelation) -> None:
    parts = {
        "seq": relation.column(words.CHAIN_SEQ),
        "prev_hash": relation.column(words.CHAIN_PREV_HASH),
        "content_hash": relation.column(words.CHAIN_CONTENT_HASH),
        "hash": relation.column(words.CHAIN_HASH),
    }
    if any(column is None for column in parts.values()):
        sections.add(
            "chain.algorithm",
            None,
            SURE,
            f"no chain columns in {relation.name}: the history is not proven by a chain",
        )
        return
    sections.add(
        "chain.algorithm",
        "lach/1",
        GUESSED,
        "LACH-1 column names; if your chain is another algorithm, remove [chain]",
    )
    for key, column in parts.items():
        if column is not None:
            sections.add(f"chain.{key}", column.name, SURE, "by name")
    meta = relation.column(words.CHAIN_META_HASH)
    if meta is not None:
        sections.add("chain.meta_hash", meta.name, SURE, "by name")


# --- bank accounts and GL groups ---------------------------------------------------------------


# --- the whole proposal ------------------------------------------------------------------------


_LEDGER_SECTIONS = ("accounts", "transactions", "transactions.history", "entries", "balances")


def _ledger_columns(
    sections: _Sections, relations: Sequence[SampledRelation], entries: SampledRelation
) -> None:
    """``ledger_id`` per section when every relation the mapping reads has a ledger column.

    A ledger column in some relations only would split a transaction from its entries, so
    then none is mapped and the reason says which relation lacks it.
    """
    by_name = {r.name: r for r in relations}
    used: dict[str, SampledRelation] = {}
    for section in _LEDGER_SECTIONS:
        source = next((d for d in sections.items[section] if d.name == "from"), None)
        if source is not None and isinstance(source.value, str):
            used[section] = by_name[source.value]
        elif section in {"transactions", "entries"}:
            used[section] = entries
    columns = {section: relation.column(words.LEDGER_ID) for section, relation in used.items()}
    found = {s: c for s, c in columns.items() if c is not None}
    if not found:
        return
    missing = [used[s].name for s, c in columns.items() if c is None]
    if missing:
        sections.add(
            "entries.ledger_id",
            None,
            GUESSED,
            f"a ledger column in {', '.join(sorted({used[s].name for s in found}))} but not "
            f"in {', '.join(sorted(set(missing)))}: one ledger is read; map ledger_id per "
            "section if the source keeps several",
        )
        return
    for section, column in found.items():
        ledgers = used[section].distinct(column.name)
        sections.add(
            f"{section}.ledger_id",
            column.name,
            GUESSED,
            f"several ledgers in one source: {len(ledgers)} in the sample "
            f"({', '.join(ledgers[:3])}{', ...' if len(ledgers) > 3 else ''})",  # noqa: PLR2004
        )


def _unused(
    sections: _Sections, relations: Sequence[SampledRelation], entries: SampledRelation
) -> tuple[str, ...]:
    """The relations no section reads (said, so that nothing is left out silently)."""
    read = {entries.name}
    for decisions in sections.items.values():
        read.update(str(d.value) for d in decisions if d.name == "from" and d.value is not None)
    return tuple(sorted(r.name for r in relations if r.name not in read))


def propose(
    relations: Sequence[SampledRelation],
    *,
    label: str,
    ledger_id: str,
    sample_rows: int = SAMPLE_ROWS,
) -> Proposal:
    """The proposal for sampled ``relations`` (raises InputError when no entries are found)."""
    if is_canonical(relations):
        raise InputError(
            label,
            "has the canonical ledger tables (ledgers, assets, accounts, transactions, "
            "entries): it needs no mapping; run verify on it without --mapping",
        )
    entries = pick_entries(relations, label)
    accounts = read_accounts(relations, entries)
    sections = _Sections()
    sections.add("format", "ledger-audit/mapping/1", SURE, "the format's version")
    sections.add("ledger.id", ledger_id, GUESSED, "from the source's name")
    codes = _codes(entries.relation, accounts)
    known = _assets_section(sections, relations, codes)
    _account_section(sections, accounts, normal_balance(accounts))
    link = find_link(relations, entries)
    _transactions_section(sections, relations, entries, link)
    _entries_section(sections, entries, accounts, link)
    _balances_section(sections, relations)
    transactions_from = sections.items["transactions"][0].value
    chain_relation = next((r for r in relations if r.name == transactions_from), entries.relation)
    _chain_section(sections, chain_relation)
    _ledger_columns(sections, relations, entries.relation)
    if sections.naive:
        sections.add(
            "ledger.timezone",
            "UTC",
            GUESSED,
            "times without a zone are read as UTC: set the zone they were written in",
        )
    scales = dict(known)
    return Proposal(
        source=label,
        ledger_id=ledger_id,
        sample_rows=sample_rows,
        decisions=sections.all(),
        accounts=accounts.guesses,
        bank_accounts=bank_accounts(
            accounts,
            scales,
            accounts.relation is not None and accounts.relation.column(words.CURRENCY) is not None,
        ),
        groups=gl_groups(accounts),
        scales=tuple(sorted(scales.items())),
        unused=_unused(sections, relations, entries.relation),
    )
