"""What ``init`` reads about accounts: their classes, normal balances, bank-like ones, GL groups.

Classes come from a type column (asset, liability...), else from the first segment of
path-like ids (``assets:bank:usd``), else from a numbered chart (1xxx assets...). They give
the normal balance, the sign convention's evidence, the bank accounts of the starter rules
and the groups of the starter GL mapping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.mapping import vocabulary as words
from ledger_audit.sources.mapping.catalogue import SampledRelation
from ledger_audit.sources.mapping.field_guess import Guess, value_map
from ledger_audit.sources.mapping.proposal import (
    FILL_IN,
    AccountGroup,
    AccountGuess,
    BankAccountGuess,
    Confidence,
    Inline,
)
from ledger_audit.sources.mapping.relation_roles import (
    EntriesChoice,
    best_id,
    covering,
    named,
)
from ledger_audit.sources.mapping.relations import Column
from ledger_audit.sources.mapping.vocabulary import DIRECTIONS

SURE, GUESSED, UNDECIDED = Confidence.SURE, Confidence.GUESSED, Confidence.UNDECIDED
_SEPARATORS = (":", ".", "/")
_MAX_BANK_ACCOUNTS = 20
_MAX_ACCOUNT_RULES = 200


def separator_of(ids: Sequence[str]) -> str | None:
    """The separator of path-like account ids (``assets:bank``), when most ids have one."""
    for separator in _SEPARATORS:
        if ids and sum(separator in i for i in ids) >= 0.8 * len(ids):
            return separator
    return None


def class_of_id(account_id: str, separator: str | None) -> str | None:
    """The class of an account by its id: first path segment, or first digit of a chart."""
    if separator is not None:
        return words.ACCOUNT_CLASSES.get(account_id.split(separator, 1)[0].lower())
    if re.fullmatch(r"\d{3,}", account_id):
        return words.DIGIT_CLASSES.get(account_id[0])
    return None


@dataclass(frozen=True, slots=True)
class Accounts:
    """What the sample says about accounts: their ids, classes and currencies."""

    guesses: tuple[AccountGuess, ...]
    separator: str | None
    relation: SampledRelation | None
    id_column: Column | None


def _entry_accounts(entries: EntriesChoice) -> pl.DataFrame:
    """(account, currency) of every sampled leg."""
    relation = entries.relation
    currency = relation.column(words.CURRENCY)
    names = (
        [relation.column(words.DEBIT_ACCOUNT), relation.column(words.CREDIT_ACCOUNT)]
        if entries.transfer
        else [relation.column(words.ACCOUNT)]
    )
    parts = [
        relation.rows.select(
            pl.col(column.name).alias("account"),
            (pl.col(currency.name) if currency else pl.lit(None, pl.String())).alias("currency"),
        )
        for column in names
        if column is not None
    ]
    return pl.concat(parts).drop_nulls("account")


def read_accounts(relations: Sequence[SampledRelation], entries: EntriesChoice) -> Accounts:
    """The accounts the sample shows: from an accounts relation, else from the entries."""
    legs = _entry_accounts(entries)
    currencies = legs.group_by("account").agg(pl.col("currency").drop_nulls().unique())
    entry_currency = {
        str(row[0]): (str(row[1][0]) if len(row[1]) == 1 else None)
        for row in currencies.iter_rows()
    }
    entry_ids = frozenset(entry_currency)
    relation = named(relations, words.ACCOUNT_RELATIONS, [words.ACCOUNT_ID]) or covering(
        relations, entries.relation, entry_ids
    )
    if relation is None:
        ids = sorted(entry_ids)
        separator = separator_of(ids)
        derived = tuple(
            AccountGuess(i, None, class_of_id(i, separator), entry_currency.get(i)) for i in ids
        )
        return Accounts(derived, separator, None, None)
    id_column = best_id(relation, words.ACCOUNT_ID, entry_ids)
    name = relation.column([n for n in words.ACCOUNT_NAME if n != id_column.name.lower()])
    kind = relation.column(words.ACCOUNT_TYPE)
    currency = relation.column(words.CURRENCY)
    table = (
        relation.rows.select(
            pl.col(id_column.name).alias("id"),
            (pl.col(name.name) if name else pl.lit(None, pl.String())).alias("name"),
            (pl.col(kind.name) if kind else pl.lit(None, pl.String())).alias("kind"),
            (pl.col(currency.name) if currency else pl.lit(None, pl.String())).alias("currency"),
        )
        .drop_nulls("id")
        .unique("id", keep="first")
        .sort("id")
    )
    ids = [str(i) for i in table["id"].to_list()]
    separator = separator_of(ids)
    guesses: list[AccountGuess] = []
    for row in table.iter_rows(named=True):
        account_id = str(row["id"])
        by_kind = words.ACCOUNT_CLASSES.get(str(row["kind"] or "").strip().lower())
        guesses.append(
            AccountGuess(
                account_id,
                row["name"],
                by_kind or class_of_id(account_id, separator),
                row["currency"] or entry_currency.get(account_id),
            )
        )
    return Accounts(tuple(guesses), separator, relation, id_column)


def normal_balance(accounts: Accounts) -> Guess:
    """``normal_balance``: a column of debit/credit, a type column mapped, or id prefixes."""
    relation = accounts.relation
    if relation is not None:
        normal = relation.column(words.NORMAL_BALANCE)
        if normal is not None:
            direction_words = {k: (v, True) for k, v in words.DIRECTION_WORDS.items()}
            return value_map(relation, normal, direction_words, DIRECTIONS, "normal balance")
        kind = relation.column(words.ACCOUNT_TYPE)
        if kind is not None:
            class_words = {
                k: (words.NORMAL_OF_CLASS[v], True) for k, v in words.ACCOUNT_CLASSES.items()
            }
            return value_map(relation, kind, class_words, DIRECTIONS, "account type")
    return _prefixes(accounts)


def _prefixes(accounts: Accounts) -> Guess:
    separator = accounts.separator
    ids = [g.account_id for g in accounts.guesses]
    if separator is None and ids and all(re.fullmatch(r"\d{3,}", i) for i in ids):
        digits = sorted({i[0] for i in ids})
        pairs = tuple(
            (d, words.NORMAL_OF_CLASS[words.DIGIT_CLASSES[d]])
            for d in digits
            if d in words.DIGIT_CLASSES
        )
        value = Inline((("prefixes", Inline(pairs)),))
        reason = "numbered chart of accounts: 1 assets, 2 liabilities, 3 equity, 4 revenue, 5-9"
        if "0" in digits:
            return Guess(
                Inline((*value.items, ("default", FILL_IN))),
                UNDECIDED,
                "ids starting with 0 have no class in a numbered chart: debit or credit?",
            )
        return Guess(value, GUESSED, reason + " expenses")
    if separator is None:
        return Guess(
            FILL_IN,
            UNDECIDED,
            "account ids have no class prefix (assets:, liabilities:...) and no accounts "
            "relation gives a type: write { prefixes = { ... }, default = ... } or a column",
        )
    tops = sorted({i.split(separator, 1)[0] for i in ids})
    known = [(t, words.ACCOUNT_CLASSES.get(t.lower())) for t in tops]
    pairs = tuple((f"{t}{separator}", words.NORMAL_OF_CLASS[c]) for t, c in known if c is not None)
    unknown = [t for t, c in known if c is None]
    if not pairs:
        return Guess(
            FILL_IN,
            UNDECIDED,
            f"account id prefixes {', '.join(tops[:5])} are not account classes: write "
            "{ prefixes = { ... }, default = ... }",
        )
    value = Inline((("prefixes", Inline(pairs)),))
    if unknown:
        return Guess(
            Inline((*value.items, ("default", FILL_IN))),
            UNDECIDED,
            f"prefix(es) {', '.join(unknown[:5])} are no account class: add each to prefixes "
            "or set default to debit or credit",
        )
    return Guess(value, SURE, f"account id prefixes {', '.join(tops)}")


def bank_accounts(
    accounts: Accounts, scales: dict[str, int], with_currency_column: bool
) -> tuple[BankAccountGuess, ...]:
    """The accounts that look like a bank account's mirror (named so, or assets in a currency)."""
    found = []
    pattern = re.compile("|".join(words.BANK_WORDS))
    for guess in accounts.guesses:
        if guess.account_class not in {None, "asset"}:
            continue
        text = f"{guess.account_id} {guess.name or ''}".lower()
        hit = pattern.search(text)
        if hit is not None:
            reason = f"its id or name says {hit.group(0)!r}"
        elif (
            guess.account_class == "asset"
            and class_of_id(guess.account_id, accounts.separator) in {None, "asset"}
            and with_currency_column
            and guess.currency
        ):
            reason = f"an asset account in {guess.currency}"
        else:
            continue
        scale = scales.get(guess.currency or "")
        asset = None if scale is None or not guess.currency else f"{guess.currency}/{scale}"
        found.append(BankAccountGuess(guess.account_id, asset, reason))
    return tuple(found[:_MAX_BANK_ACCOUNTS])


def gl_groups(accounts: Accounts) -> tuple[AccountGroup, ...]:
    """GL starter groups: one per first id segment, or one per account without segments."""
    separator = accounts.separator
    if separator is not None:
        tops: dict[str, list[AccountGuess]] = {}
        for guess in accounts.guesses:
            tops.setdefault(guess.account_id.split(separator, 1)[0], []).append(guess)
        return tuple(
            AccountGroup(f"{top}{separator}*", words.ACCOUNT_CLASSES.get(top.lower()), len(members))
            for top, members in sorted(tops.items())
        )
    return tuple(
        AccountGroup(g.account_id, g.account_class, 1)
        for g in accounts.guesses[:_MAX_ACCOUNT_RULES]
    )
