"""The reconciliation rules record, and its reader from a TOML file.

The rules say how the matcher (``ledger_audit.reconcile``) pairs ledger items with bank and
processor records (DESIGN.md section 7): which ledger account each bank account is, how far
apart in days a bank line may book from its ledger item on each payment rail, how much two
amounts may differ, how a candidate pair is scored and where the automatic and suggested
thresholds lie, and how large an unkeyed batch the subset-sum search may try.

The file (``rules/default.toml`` is a documented example)::

    version = "default-2025.1"           # goes into manifests beside the results
    group_metadata_keys = ["payout_id", "batch_id"]   # ledger metadata keys naming a batch

    [[accounts]]                         # a bank account as the statement names it ...
    account_ref = "US00DEMO0000000001"
    asset_id = "USD/2"
    account_id = "assets:bank:operating:usd"   # ... is this ledger account
    ledger_id = "demo"                   # optional: only in this ledger

    [[accounts]]                         # a processor balance (Stripe) is mapped the same way
    account_ref = "stripe"
    asset_id = "USD/2"
    account_id = "liabilities:card-network:payable:usd"
    processor = true                     # its payouts are tied out three ways; no drift

    [default_rail]                       # the window of a ledger item on no named rail
    days_before = 1                      # the bank may book up to 1 day before the ledger
    days_after = 3                       # ... and up to 3 days after it

    [[rails]]                            # ordered: the first rail that recognises an item wins
    name = "ach"
    external_id_prefixes = ["ach-"]      # recognised by the transaction's external id ...
    events = ["deposit"]                 # ... or by its metadata ``event``
    days_before = 0
    days_after = 5

    [amount_tolerance]                   # stage 3: |bank - ledger| <= max(absolute,
    absolute = 0                         #   relative x |ledger amount|), minor units
    relative = 0.0

    [score_weights]                      # stage 3 score: weighted mean of three parts in [0, 1]
    amount = 0.5
    date = 0.3
    reference = 0.2

    [thresholds]
    auto = 0.9                           # a pair scoring this much matches automatically ...
    suggest = 0.6                        # ... this much is only suggested
    margin = 0.05                        # auto also needs this lead over the runner-up

    [subset_sum]                         # stage 5, unkeyed batches
    pool = 20                            # candidates per target (meet in the middle: 2^(pool/2))
    max_group = 6                        # members of one batch at most
    auto_unique = false                  # may a unique solution in a complete pool auto-match?

Any problem raises :class:`InputError` naming the file, the line (of the table header or of
the key) and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.sources.fill_in import refuse_fill_in
from ledger_audit.sources.toml_file import TomlLines, parse_toml, read_text

ASSET_ID = re.compile(r"^[A-Za-z0-9._-]+/\d{1,2}$")
"""``CODE/scale``, as in the canonical ``assets`` table."""

RAIL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
"""A rail name is a lower-case identifier."""

DEFAULT_RAIL = "default"
"""The name of the rail of an item no named rail recognises."""

MAX_WINDOW_DAYS = 366
MAX_POOL = 32
"""Meet in the middle enumerates 2^(pool/2) sums per half: 65,536 at 32."""
MAX_RELATIVE_TOLERANCE = 0.25
"""Beyond this a tolerance no longer means "the same payment"; the band join assumes it."""


@dataclass(frozen=True, slots=True)
class BankAccount:
    """One bank account as a statement names it, and the ledger account it is.

    Attributes:
        account_ref: the account as the file names it (IBAN, account number).
        asset_id: ``CODE/scale`` of the statement's currency.
        account_id: the ledger account (an asset account: a debit there is money in).
        ledger_id: the ledger it belongs to; None when any ledger's account of that id.
        processor: the account is a processor's balance (Stripe), not a bank account: its
            records' payouts are tied out three ways (``reconcile.payouts``) and it has no
            statement balance to drift against.
    """

    account_ref: str
    asset_id: str
    account_id: str
    ledger_id: str | None = None
    processor: bool = False


@dataclass(frozen=True, slots=True)
class Rail:
    """A payment rail and the window in which its bank line books around the ledger item.

    A bank line dated ``b`` may match a ledger item dated ``d`` when
    ``-days_before <= b - d <= days_after`` (days).

    Attributes:
        name: lower-case identifier (``ach``, ``sepa``, ``card``, ``payout``, ``fee``).
        days_before: how many days the bank may book before the ledger date.
        days_after: how many days the bank may book after the ledger date.
        external_id_prefixes: a transaction whose external id starts with one is on this rail.
        events: a transaction whose metadata ``event`` is one of these is on this rail.
    """

    name: str
    days_before: int
    days_after: int
    external_id_prefixes: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How far a bank amount may differ from the ledger's and still be a stage-3 candidate.

    Attributes:
        absolute: minor units (of the item's own asset).
        relative: fraction of the ledger amount's magnitude; the larger of the two applies.
    """

    absolute: int = 0
    relative: float = 0.0


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of the three parts of a stage-3 score (normalised to sum to one when used).

    Attributes:
        amount: ``1 - |difference| / (tolerance + 1)``.
        date: ``1 - |days apart| / (window side + 1)``.
        reference: shared reference tokens over the fewer tokens of the two sides.
    """

    amount: float = 0.5
    date: float = 0.3
    reference: float = 0.2


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where a stage-3 score becomes an automatic match or a suggestion.

    Attributes:
        auto: a mutual best pair scoring at least this, with ``margin`` over every rival
            pair of either member, matches automatically.
        suggest: a mutual best pair scoring at least this (and not auto) is suggested.
        margin: the lead an automatic pair needs over the runner-up of both its members.
    """

    auto: float = 0.9
    suggest: float = 0.6
    margin: float = 0.05


@dataclass(frozen=True, slots=True)
class SubsetSumCaps:
    """Bounds of the stage-5 search for unkeyed batches.

    Attributes:
        pool: candidates considered per target (those nearest in date, then by id).
        max_group: members of one batch at most (at least two).
        auto_unique: when true, a target with exactly one solution in a complete pool (no
            candidate left out by the cap) matches automatically; otherwise it is suggested.
    """

    pool: int = 20
    max_group: int = 6
    auto_unique: bool = False


@dataclass(frozen=True, slots=True)
class MatchRules:
    """Everything the matcher needs besides the two frames and the as-of date.

    Attributes:
        version: the rules' version text, for manifests.
        accounts: the bank account mapping.
        default_rail: the window of items no rail recognises (``name`` is ``default``).
        rails: ordered; the first that recognises an item (prefix or event) wins.
        tolerance: stage-3 amount tolerance.
        weights: stage-3 score weights.
        thresholds: stage-3 auto and suggest thresholds.
        subset_sum: stage-5 bounds.
        group_metadata_keys: ledger transaction metadata keys whose values are batch keys
            (stage 4), besides the external id and idempotency key.
        source: where the rules came from (a path), for manifests; None if built in code.
    """

    version: str
    accounts: tuple[BankAccount, ...]
    default_rail: Rail = Rail(DEFAULT_RAIL, 1, 3)
    rails: tuple[Rail, ...] = ()
    tolerance: Tolerance = Tolerance()
    weights: Weights = Weights()
    thresholds: Thresholds = Thresholds()
    subset_sum: SubsetSumCaps = SubsetSumCaps()
    group_metadata_keys: tuple[str, ...] = ("payout_id", "batch_id")
    source: str | None = None

    def __post_init__(self) -> None:
        if not self.version.strip():
            raise InputError("version", "must be a non-empty text")
        self._check_accounts()
        if self.default_rail.name != DEFAULT_RAIL:
            raise InputError("default_rail", f"its name must be {DEFAULT_RAIL!r}")
        _check_window("default_rail", self.default_rail)
        names: set[str] = set()
        for index, rail in enumerate(self.rails):
            where = f"rails[{index}]"
            if not RAIL_NAME.match(rail.name) or rail.name == DEFAULT_RAIL:
                raise InputError(
                    where, f"name {rail.name!r} must be a lower-case identifier, not 'default'"
                )
            if rail.name in names:
                raise InputError(where, f"rail {rail.name!r} appears twice")
            names.add(rail.name)
            if not rail.external_id_prefixes and not rail.events:
                raise InputError(where, "recognises nothing: give external_id_prefixes or events")
            if any(not text for text in (*rail.external_id_prefixes, *rail.events)):
                raise InputError(where, "an empty prefix or event would recognise everything")
            _check_window(where, rail)
        self._check_numbers()

    def _check_accounts(self) -> None:
        seen: set[tuple[str, str]] = set()
        targets: set[tuple[str, str, str]] = set()
        for index, account in enumerate(self.accounts):
            where = f"accounts[{index}]"
            if not account.account_ref.strip() or not account.account_id.strip():
                raise InputError(where, "account_ref and account_id must be non-empty")
            if not ASSET_ID.match(account.asset_id):
                raise InputError(where, f"asset_id {account.asset_id!r} is not CODE/scale")
            key = (account.account_ref, account.asset_id)
            if key in seen:
                raise InputError(where, f"bank account {key[0]} {key[1]} is mapped twice")
            seen.add(key)
            target = (account.ledger_id or "", account.account_id, account.asset_id)
            if target in targets:
                raise InputError(
                    where, f"ledger account {account.account_id} {account.asset_id} is mapped twice"
                )
            targets.add(target)

    def _check_numbers(self) -> None:
        tolerance, weights, thresholds, caps = (
            self.tolerance,
            self.weights,
            self.thresholds,
            self.subset_sum,
        )
        if tolerance.absolute < 0:
            raise InputError("amount_tolerance.absolute", "must be >= 0 minor units")
        if not 0 <= tolerance.relative <= MAX_RELATIVE_TOLERANCE:
            raise InputError(
                "amount_tolerance.relative", f"must be within 0 and {MAX_RELATIVE_TOLERANCE}"
            )
        parts = (weights.amount, weights.date, weights.reference)
        if min(parts) < 0 or sum(parts) <= 0:
            raise InputError("score_weights", "weights must be >= 0 with a positive sum")
        if not 0 <= thresholds.suggest <= thresholds.auto <= 1:
            raise InputError("thresholds", "need 0 <= suggest <= auto <= 1")
        if not 0 <= thresholds.margin <= 1:
            raise InputError("thresholds.margin", "must be within 0 and 1")
        if not 2 <= caps.pool <= MAX_POOL:  # noqa: PLR2004 (a batch has two members at least)
            raise InputError("subset_sum.pool", f"must be within 2 and {MAX_POOL}")
        if not 2 <= caps.max_group <= caps.pool:  # noqa: PLR2004
            raise InputError("subset_sum.max_group", "must be within 2 and the pool size")

    @property
    def lookback_days(self) -> int:
        """How far before a period's first day its reconciliation still reaches (days).

        The widest rail window, either side: an item in transit at the previous period's end
        books within it, and a bank line may book that far before its ledger item.
        """
        return max(self.widest_window)

    def bank_accounts(self) -> MatchRules:
        """These rules with the processor accounts left out (what the drift report covers)."""
        return replace(self, accounts=tuple(a for a in self.accounts if not a.processor))

    def processor_refs(self) -> frozenset[tuple[str, str]]:
        """(account_ref, asset_id) of the processor accounts."""
        return frozenset((a.account_ref, a.asset_id) for a in self.accounts if a.processor)

    @property
    def all_rails(self) -> tuple[Rail, ...]:
        """The named rails in order, then the default rail."""
        return (*self.rails, self.default_rail)

    @property
    def widest_window(self) -> tuple[int, int]:
        """(days before, days after) covering every rail's window."""
        rails = self.all_rails
        return max(r.days_before for r in rails), max(r.days_after for r in rails)

    def account_frame(self) -> pl.DataFrame:
        """(account_ref, asset_id, account_id, ledger_id) of the mapped bank accounts."""
        return pl.DataFrame(
            [
                (a.account_ref, a.asset_id, a.account_id, a.ledger_id)
                for a in sorted(self.accounts, key=lambda a: (a.account_ref, a.asset_id))
            ],
            schema={
                "account_ref": pl.String(),
                "asset_id": pl.String(),
                "account_id": pl.String(),
                "ledger_id": pl.String(),
            },
            orient="row",
        )

    def rail_frame(self) -> pl.DataFrame:
        """(rail, days_before, days_after) of every rail, the default one last."""
        return pl.DataFrame(
            [(r.name, r.days_before, r.days_after) for r in self.all_rails],
            schema={"rail": pl.String(), "days_before": pl.Int32(), "days_after": pl.Int32()},
            orient="row",
        )

    def rail_expr(self, external_id: pl.Expr, event: pl.Expr) -> pl.Expr:
        """The rail name of each row, from its external id and metadata event (vectorised)."""
        expr: pl.Expr = pl.lit(DEFAULT_RAIL)
        for rail in reversed(self.rails):
            hit = pl.lit(value=False)
            for prefix in rail.external_id_prefixes:
                hit = hit | external_id.str.starts_with(prefix).fill_null(value=False)
            if rail.events:
                hit = hit | event.is_in(list(rail.events)).fill_null(value=False)
            expr = pl.when(hit).then(pl.lit(rail.name)).otherwise(expr)
        return expr.alias("rail")


def _check_window(where: str, rail: Rail) -> None:
    for name, days in (("days_before", rail.days_before), ("days_after", rail.days_after)):
        if not 0 <= days <= MAX_WINDOW_DAYS:
            raise InputError(f"{where}.{name}", f"must be within 0 and {MAX_WINDOW_DAYS} days")


# --- the reader ----------------------------------------------------------------------------

_TOP_KEYS = frozenset(
    {
        "version",
        "group_metadata_keys",
        "accounts",
        "default_rail",
        "rails",
        "amount_tolerance",
        "score_weights",
        "thresholds",
        "subset_sum",
    }
)
_TABLE_KEYS: dict[str, frozenset[str]] = {
    "accounts": frozenset({"account_ref", "asset_id", "account_id", "ledger_id", "processor"}),
    "default_rail": frozenset({"days_before", "days_after"}),
    "rails": frozenset({"name", "external_id_prefixes", "events", "days_before", "days_after"}),
    "amount_tolerance": frozenset({"absolute", "relative"}),
    "score_weights": frozenset({"amount", "date", "reference"}),
    "thresholds": frozenset({"auto", "suggest", "margin"}),
    "subset_sum": frozenset({"pool", "max_group", "auto_unique"}),
}


def read_match_rules(path: Path) -> MatchRules:
    """The rules in TOML file ``path``; a bad file raises InputError (file:line, reason)."""
    return parse_match_rules(read_text(path, "rules"), str(path))


def parse_match_rules(text: str, source: str) -> MatchRules:
    """The rules in TOML ``text``; ``source`` names it in errors and in the record."""
    document = parse_toml(text, source)
    refuse_fill_in(document, text, source)  # a starter file from `init` not yet filled in
    lines = TomlLines(text, source)
    try:
        return _rules(document, source)
    except InputError as exc:
        raise InputError(lines.locate(exc.locator), f"{exc.locator}: {exc.reason}") from exc


def _rules(document: dict[str, Any], source: str) -> MatchRules:
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise InputError(unknown[0], f"unknown key {unknown[0]!r}")
    version = document.get("version")
    if not isinstance(version, str):
        raise InputError("version", "version must be a string")
    accounts = tuple(
        BankAccount(
            account_ref=_get(raw, "account_ref", str, f"accounts[{i}]"),
            asset_id=_get(raw, "asset_id", str, f"accounts[{i}]"),
            account_id=_get(raw, "account_id", str, f"accounts[{i}]"),
            ledger_id=_get(raw, "ledger_id", str, f"accounts[{i}]", None),
            processor=_get(raw, "processor", bool, f"accounts[{i}]", default=False),
        )
        for i, raw in enumerate(_tables(document, "accounts"))
    )
    if not accounts:
        raise InputError("accounts", "map at least one bank account ([[accounts]])")
    default = _table(document, "default_rail")
    rails = tuple(
        Rail(
            name=_get(raw, "name", str, f"rails[{i}]"),
            days_before=_get(raw, "days_before", int, f"rails[{i}]"),
            days_after=_get(raw, "days_after", int, f"rails[{i}]"),
            external_id_prefixes=_texts(raw, "external_id_prefixes", f"rails[{i}]"),
            events=_texts(raw, "events", f"rails[{i}]"),
        )
        for i, raw in enumerate(_tables(document, "rails"))
    )
    tolerance = _table(document, "amount_tolerance")
    weights = _table(document, "score_weights")
    thresholds = _table(document, "thresholds")
    caps = _table(document, "subset_sum")
    keys = document.get("group_metadata_keys", ["payout_id", "batch_id"])
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise InputError("group_metadata_keys", "must be an array of metadata key names")
    return MatchRules(
        version=version,
        accounts=accounts,
        default_rail=Rail(
            DEFAULT_RAIL,
            _get(default, "days_before", int, "default_rail", 1),
            _get(default, "days_after", int, "default_rail", 3),
        ),
        rails=rails,
        tolerance=Tolerance(
            _get(tolerance, "absolute", int, "amount_tolerance", 0),
            _get(tolerance, "relative", float, "amount_tolerance", 0.0),
        ),
        weights=Weights(
            _get(weights, "amount", float, "score_weights", 0.5),
            _get(weights, "date", float, "score_weights", 0.3),
            _get(weights, "reference", float, "score_weights", 0.2),
        ),
        thresholds=Thresholds(
            _get(thresholds, "auto", float, "thresholds", 0.9),
            _get(thresholds, "suggest", float, "thresholds", 0.6),
            _get(thresholds, "margin", float, "thresholds", 0.05),
        ),
        subset_sum=SubsetSumCaps(
            _get(caps, "pool", int, "subset_sum", 20),
            _get(caps, "max_group", int, "subset_sum", 6),
            _get(caps, "auto_unique", bool, "subset_sum", default=False),
        ),
        group_metadata_keys=tuple(keys),
        source=source,
    )


def _table(document: dict[str, Any], name: str) -> dict[str, Any]:
    raw = document.get(name, {})
    if not isinstance(raw, dict):
        raise InputError(name, f"{name} must be a table ([{name}])")
    _known(raw, name, name)
    return raw


def _tables(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    raw = document.get(name, [])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InputError(name, f"{name} must be an array of tables ([[{name}]])")
    for index, item in enumerate(raw):
        _known(item, name, f"{name}[{index}]")
    return raw


def _known(raw: dict[str, Any], table: str, where: str) -> None:
    unknown = sorted(set(raw) - _TABLE_KEYS[table])
    if unknown:
        expected = ", ".join(sorted(_TABLE_KEYS[table]))
        raise InputError(f"{where}.{unknown[0]}", f"unknown key (expected one of {expected})")


_MISSING = object()
_T = TypeVar("_T")


def _get(
    raw: dict[str, Any], key: str, kind: type[_T], where: str, default: object = _MISSING
) -> _T:
    value = raw.get(key, default)
    if value is _MISSING:
        raise InputError(where, f"{key} is required")
    if value is None:
        return value  # type: ignore[return-value]  # only for optional keys with a None default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"{where}.{key}", f"must be a {kind.__name__}, got {value!r}")
    return value


def _texts(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}.{key}", "must be an array of strings")
    return tuple(value)


def override_match_rules(
    path: Path, overrides: str, *, source: str = "rule overrides"
) -> MatchRules:
    """The rules of file ``path`` with the TOML text ``overrides`` laid over them.

    For trying a rule change before editing the file (the reconciliation notebook's rule
    preview). Tables merge key by key; ``[[rails]]`` entries merge with the rail of the same
    ``name`` (a new name adds a rail); any other array replaces the file's. The result is
    checked like a rules file, so a bad override is an InputError naming it.
    """
    base = parse_toml(read_text(path, "rules"), str(path))
    changes = parse_toml(overrides, source)
    merged = _merged(base, changes)
    try:
        return _rules(merged, f"{path} + {source}")
    except InputError as exc:
        raise InputError(source, f"{exc.locator}: {exc.reason}") from exc


def _merged(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _merged(old, value)
        elif key == "rails" and isinstance(old, list) and isinstance(value, list):
            by_name = {r.get("name"): i for i, r in enumerate(old) if isinstance(r, dict)}
            rails = list(old)
            for rail in value:
                at = by_name.get(rail.get("name")) if isinstance(rail, dict) else None
                if at is None:
                    rails.append(rail)
                else:
                    rails[at] = _merged(rails[at], rail)
            out[key] = rails
        else:
            out[key] = value
    return out
