"""Which relation of a source is what, for ``init``: entries, transactions, accounts, history.

By names first (``vocabulary``), then by values: a column whose sampled values are another
relation's ids links the two, so a terse or foreign naming still finds the transactions of the
entries, their accounts and a status history. A source that already has the canonical tables
is recognised (it needs no mapping).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger_audit.errors import InputError
from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.mapping import vocabulary as words
from ledger_audit.sources.mapping.catalogue import SampledRelation
from ledger_audit.sources.mapping.relations import Column

_CANONICAL_TABLES = ("ledgers", "assets", "accounts", "transactions", "entries")


@dataclass(frozen=True, slots=True)
class EntriesChoice:
    """The entries relation, whether its rows are transfers, and why it was chosen."""

    relation: SampledRelation
    transfer: bool
    reason: str


def _rank(relation: SampledRelation, names: Sequence[str]) -> int:
    return names.index(relation.stem) if relation.stem in names else len(names)


def pick_entries(relations: Sequence[SampledRelation], label: str) -> EntriesChoice:
    """The entries relation: an account (or debit and credit account) and an amount column.

    Named like entries first, then like transfers, then like transactions.
    """
    candidates: list[tuple[int, int, str, EntriesChoice]] = []
    for relation in relations:
        amount = relation.column(words.AMOUNT)
        if amount is None:
            continue
        debit, credit = relation.column(words.DEBIT_ACCOUNT), relation.column(words.CREDIT_ACCOUNT)
        account = relation.column(words.ACCOUNT)
        if debit is not None and credit is not None:
            reason = (
                f"transfer per row: {debit.name!r} is debited and {credit.name!r} credited "
                f"with {amount.name!r}"
            )
            choice = EntriesChoice(relation, transfer=True, reason=reason)
            group = 1
        elif account is not None:
            reason = f"entry per row: account {account.name!r}, amount {amount.name!r}"
            choice = EntriesChoice(relation, transfer=False, reason=reason)
            group = 0
        else:
            continue
        by_name = min(
            _rank(relation, words.ENTRY_RELATIONS),
            len(words.ENTRY_RELATIONS) + _rank(relation, words.TRANSFER_RELATIONS),
            2 * len(words.ENTRY_RELATIONS) + _rank(relation, words.TRANSACTION_RELATIONS),
        )
        candidates.append((by_name, group, relation.name, choice))
    if not candidates:
        for relation in relations:
            debit, credit = (
                relation.column(words.DEBIT_AMOUNT),
                relation.column(words.CREDIT_AMOUNT),
            )
            if relation.column(words.ACCOUNT) and debit is not None and credit is not None:
                raise InputError(
                    f"{label} {relation.name}",
                    f"separate debit and credit amount columns ({debit.name}, {credit.name}): a "
                    "mapping reads one amount with a direction: run init on a view that gives "
                    "them, or write [entries] query = ... (docs/mapping.md, Relations)",
                )
        listing = "; ".join(f"{r.name} ({', '.join(c.name for c in r.columns)})" for r in relations)
        raise InputError(
            label,
            "no relation looks like ledger entries (an account column, or debit and credit "
            f"account columns, and an amount column); it has: {listing or 'nothing'}",
        )
    return min(candidates, key=lambda c: c[:3])[3]


def named(
    relations: Sequence[SampledRelation],
    names: Sequence[str],
    needs: Sequence[Sequence[str]],
    exclude: SampledRelation | None = None,
) -> SampledRelation | None:
    """The relation with a name in ``names`` (first preferred) having a column of each need."""
    found = [
        r
        for r in relations
        if r.stem in names and r is not exclude and all(r.column(n) for n in needs)
    ]
    return min(found, key=lambda r: (_rank(r, names), r.name)) if found else None


def _overlap(relation: SampledRelation, column: Column, values: frozenset[str]) -> int:
    return len(values.intersection(relation.distinct(column.name)))


def best_id(relation: SampledRelation, names: Sequence[str], values: frozenset[str]) -> Column:
    """The id column among ``names`` whose sampled values overlap ``values`` the most."""
    by_name = {c.name.lower(): c for c in relation.columns}
    columns = [by_name[n] for n in names if n in by_name]
    return max(columns, key=lambda c: (_overlap(relation, c, values), -columns.index(c)))


@dataclass(frozen=True, slots=True)
class Link:
    """How the entries name their transaction, and which relation holds transactions.

    Attributes:
        transactions: the transactions relation; None when the entries' own rows are them.
        id_column: its id column.
        entry_column: the entries' column naming the transaction.
        reason: how the link was found.
        by_values: found by matching sampled values, not by names (a guess).
    """

    transactions: SampledRelation | None
    id_column: Column | None
    entry_column: Column | None
    reason: str
    by_values: bool = False


ROLE_RELATIONS = (
    *words.ACCOUNT_RELATIONS,
    *words.BALANCE_RELATIONS,
    *words.CURRENCY_RELATIONS,
)


LINK_SHARE = 0.5
"""A column links entries to transactions when this share of its sampled values are ids."""


def value_share(values: frozenset[str], ids: frozenset[str]) -> float:
    """The share of ``values`` that are among ``ids`` (0 when there are none)."""
    return len(values & ids) / len(values) if values else 0.0


def _entry_role_columns(relation: SampledRelation) -> frozenset[str]:
    """Columns of the entries relation that are something else than a transaction link."""
    roles = (
        words.ROW_ID,
        words.ACCOUNT,
        words.DEBIT_ACCOUNT,
        words.CREDIT_ACCOUNT,
        words.AMOUNT,
        words.CURRENCY,
        words.DIRECTION,
        words.INDEX,
        words.VERSION,
    )
    return frozenset(c.name for names in roles if (c := relation.column(names)) is not None)


def find_link(relations: Sequence[SampledRelation], entries: EntriesChoice) -> Link:
    """The transactions relation and the entries' link to it: by names, else by values."""
    rel = entries.relation
    link_column = rel.column(words.ENTRY_TRANSACTION_ID)
    # the transactions' id is often named like the entries' link (journal_id in both)
    id_names = (
        *words.TRANSACTION_ID,
        *(() if link_column is None else (link_column.name.lower(),)),
    )
    by_name = named(relations, words.TRANSACTION_RELATIONS, [id_names], exclude=rel)
    if link_column is not None and by_name is not None:
        ids = frozenset(rel.distinct(link_column.name))
        id_column = best_id(by_name, id_names, ids)
        return Link(by_name, id_column, link_column, f"{link_column.name!r} names {by_name.name}")
    others = [
        r for r in relations if r is not rel and r.stem not in ROLE_RELATIONS and r.column(id_names)
    ]
    candidates = [by_name] if by_name is not None else others
    links = (
        [link_column]
        if link_column is not None
        else [c for c in rel.columns if c.name not in _entry_role_columns(rel)]
    )
    found: list[tuple[float, str, str, str, Link]] = []
    for relation in candidates:
        by_lower = {c.name.lower(): c for c in relation.columns}
        for id_column in (by_lower[n] for n in id_names if n in by_lower):
            ids = frozenset(relation.distinct(id_column.name))
            for column in links:
                share = value_share(frozenset(rel.distinct(column.name)), ids)
                if share >= LINK_SHARE:
                    reason = (
                        f"{share:.0%} of sampled {column.name!r} values are "
                        f"{relation.name}.{id_column.name} values"
                    )
                    link = Link(relation, id_column, column, reason, by_values=True)
                    found.append((-share, relation.name, id_column.name, column.name, link))
    if found:
        return min(found, key=lambda f: f[:4])[4]
    if link_column is not None:
        return Link(
            None, None, link_column, f"{link_column.name!r} by name; no transactions relation"
        )
    return Link(None, None, None, "no column names the transaction of each leg")


def covering(
    relations: Sequence[SampledRelation], entries: SampledRelation, ids: frozenset[str]
) -> SampledRelation | None:
    """A relation not named like accounts whose id column holds the entries' accounts."""
    found = []
    for relation in relations:
        if relation is entries or relation.stem in ROLE_RELATIONS[len(words.ACCOUNT_RELATIONS) :]:
            continue
        by_lower = {c.name.lower(): c for c in relation.columns}
        for column in (by_lower[n] for n in words.ACCOUNT_ID if n in by_lower):
            share = value_share(ids, frozenset(relation.distinct(column.name)))
            if share >= LINK_SHARE:
                found.append((-share, relation.name, relation))
    return min(found, key=lambda f: f[:2])[2] if found else None


def find_history(
    relations: Sequence[SampledRelation],
    transactions: SampledRelation,
    entries: SampledRelation,
) -> tuple[SampledRelation, Column, str] | None:
    """A status-history relation: a status and a time per row, linked to transactions.

    Returns the relation, its link column, and why it was taken.
    """
    id_column = transactions.column(words.TRANSACTION_ID)
    if id_column is None:
        return None
    ids = frozenset(transactions.distinct(id_column.name))
    found = []
    for relation in relations:
        if relation is transactions or relation is entries:
            continue
        if relation.column(words.STATUS) is None or relation.column(words.HISTORY_AT) is None:
            continue
        named = relation.stem in words.HISTORY_RELATIONS
        for column in relation.columns:
            share = value_share(frozenset(relation.distinct(column.name)), ids)
            if share >= LINK_SHARE:
                reason = (
                    f"{share:.0%} of sampled {column.name!r} values are "
                    f"{transactions.name}.{id_column.name} values"
                )
                found.append(
                    (not named, -share, relation.name, column.name, (relation, column, reason))
                )
    if not found:
        return None
    return min(found, key=lambda f: f[:4])[4]


def is_canonical(relations: Sequence[SampledRelation]) -> bool:
    """Whether the source has every canonical table with its columns (a snapshot, the demo)."""
    by_stem = {r.stem: r for r in relations}
    for table in _CANONICAL_TABLES:
        relation = by_stem.get(table)
        if relation is None:
            return False
        names = {c.name for c in relation.columns}
        if not set(FRAME_SCHEMAS[table]) - {"meta_hash"} <= names:
            return False
    return True
