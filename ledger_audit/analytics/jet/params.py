"""JET parameters: every default of ANALYTICS.md 3.3 in one frozen record, read from TOML.

The rules file (``rules/jet.toml`` documents every key) has one table per concern
(``[entity]``, ``[fields]``, ``[close]``) and one per rule, named after the rule's slug
(``[weekend]``, ``[round_amount]``...), each with an optional ``weight`` for the composite
score. Unknown tables or keys are errors that name them: a misspelt threshold must not fall
back to its default without a word. The record goes into the manifest as :meth:`to_json`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.errors import InputError

DEFAULT_WEIGHTS: dict[JetRule, float] = {
    **dict.fromkeys(JetRule, 1.0),
    JetRule.UNBALANCED: 5.0,
    JetRule.POST_CLOSE: 3.0,
    JetRule.SELF_APPROVAL: 3.0,
    JetRule.SPLIT_BELOW: 3.0,
    JetRule.REVERSAL_AFTER_PERIOD_END: 2.0,
    JetRule.SEQUENCE_GAP: 2.0,
    JetRule.PERIOD_END: 0.5,
    JetRule.MANUAL: 0.5,
}

_WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
_SCOPES = ("manual", "all")


@dataclass(frozen=True, slots=True)
class JetParams:
    """Parameters of the JET pack (defaults and their sources: ANALYTICS.md 3.3).

    Attributes:
        timezone: the entity's IANA zone; None makes JE-02/03/04 "not applicable".
        weekend: ISO weekdays (1 = Monday) that are not business days.
        holidays: the entity's holiday and closure dates; empty makes JE-03 not applicable.
        business_hours: [start, end) in minutes after local midnight (06:00-18:00).
        manual_kinds: transaction kinds that count as manual (JE-04, 14, 16, 22).
        weekend_scope: ``manual`` (default: ledger system flows run 24/7) or ``all``.
        period_end_days: business days either side of the period end (JE-05).
        close_at_ns: when the audited period was closed; with the ledger's own
            ``closed_through_ns`` it defines post-close entries (JE-06).
        backdated_days: JE-07 lag; forward_days: JE-08 lead.
        round_bases: JE-09 bases in major units, tiered; round_floor: the smallest amount.
        ending_digits: JE-10 k; ending_z: its Z bound; ending_min_count: fewest repeats.
        thresholds: JE-11 approval thresholds in major units; below_bp: the band below a
            threshold in basis points (500 = 5 %); split_hours: the split-set window;
            split_scope: ``manual`` or ``all`` kinds in split sets.
        seldom_max: JE-12 postings in the period at most; dormant_days: idle days before.
        account_depth: JE-12/13 compare accounts by their first N ``:`` segments (0: whole).
        pair_max: JE-13 count at most; pair_min_population: transactions needed first.
        user_min: JE-14 fewest transactions; authorised: allowed actors (empty: no list);
            system_users: actors that must not post manual kinds.
        concentration_pct: JE-16 share of manual entries.
        reversal_before_days, reversal_after_days: JE-17 windows w and w'.
        description_min: JE-18 L; keywords: JE-18 list (case-insensitive substrings).
        duplicate_days: JE-19 near-duplicate window.
        gap_min: JE-20 smallest gap reported.
        outlier_top_bp: JE-21 top share in basis points (100 = 1 %); outlier_z: robust z*.
        tolerance: JE-01 tolerance in minor units.
        actor_field, approver_field: metadata keys holding who posted and who approved.
        weights: composite-score weight per rule.
    """

    timezone: str | None = None
    weekend: tuple[int, ...] = (6, 7)
    holidays: tuple[dt.date, ...] = ()
    business_hours: tuple[int, int] = (6 * 60, 18 * 60)
    manual_kinds: tuple[str, ...] = ("adjustment",)
    weekend_scope: str = "manual"
    period_end_days: int = 3
    close_at_ns: int | None = None
    backdated_days: int = 3
    forward_days: int = 3
    round_bases: tuple[int, ...] = (100_000, 10_000, 1_000)
    round_floor: int = 10_000
    ending_digits: int = 3
    ending_z: float = 2.576
    ending_min_count: int = 3
    thresholds: tuple[int, ...] = (5_000, 10_000, 25_000, 50_000, 100_000)
    below_bp: int = 500
    split_hours: int = 24
    split_scope: str = "manual"
    seldom_max: int = 3
    dormant_days: int = 90
    account_depth: int = 0
    pair_max: int = 2
    pair_min_population: int = 20
    user_min: int = 5
    authorised: tuple[str, ...] = ()
    system_users: tuple[str, ...] = ()
    concentration_pct: int = 25
    reversal_before_days: int = 10
    reversal_after_days: int = 10
    description_min: int = 5
    keywords: tuple[str, ...] = (
        "adjust",
        "correct",
        "plug",
        "reverse",
        "write-off",
        "override",
        "per ceo",
        "per cfo",
        "test",
        "misc",
        "suspense",
    )
    duplicate_days: int = 3
    gap_min: int = 1
    outlier_top_bp: int = 100
    outlier_z: float = 3.0
    tolerance: int = 0
    actor_field: str = "actor"
    approver_field: str = "approved_by"
    weights: tuple[tuple[JetRule, float], ...] = field(
        default_factory=lambda: tuple(DEFAULT_WEIGHTS.items())
    )

    def weight(self, rule: JetRule) -> float:
        """The composite-score weight of ``rule``."""
        return dict(self.weights)[rule]

    def to_json(self) -> dict[str, object]:
        """Every parameter as JSON values, for the manifest (weights by rule id)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "weights":
                out[f.name] = {str(rule): w for rule, w in value}
            elif isinstance(value, tuple):
                out[f.name] = [v.isoformat() if isinstance(v, dt.date) else v for v in value]
            else:
                out[f.name] = value
        return out


# (table, key) in the rules file -> field of JetParams.
_KEYS: dict[tuple[str, str], str] = {
    ("entity", "timezone"): "timezone",
    ("entity", "weekend"): "weekend",
    ("entity", "holidays"): "holidays",
    ("entity", "business_hours"): "business_hours",
    ("entity", "manual_kinds"): "manual_kinds",
    ("fields", "actor"): "actor_field",
    ("fields", "approver"): "approver_field",
    ("close", "closed_at"): "close_at_ns",
    ("unbalanced", "tolerance"): "tolerance",
    ("weekend", "scope"): "weekend_scope",
    ("period_end_window", "business_days"): "period_end_days",
    ("backdated", "days"): "backdated_days",
    ("forward_dated", "days"): "forward_days",
    ("round_amount", "bases"): "round_bases",
    ("round_amount", "floor"): "round_floor",
    ("consistent_endings", "digits"): "ending_digits",
    ("consistent_endings", "z"): "ending_z",
    ("consistent_endings", "min_count"): "ending_min_count",
    ("just_below_threshold", "thresholds"): "thresholds",
    ("just_below_threshold", "below_bp"): "below_bp",
    ("split_below_threshold", "hours"): "split_hours",
    ("split_below_threshold", "scope"): "split_scope",
    ("seldom_used_account", "max_postings"): "seldom_max",
    ("seldom_used_account", "dormant_days"): "dormant_days",
    ("seldom_used_account", "account_depth"): "account_depth",
    ("unusual_account_pair", "max_count"): "pair_max",
    ("unusual_account_pair", "min_population"): "pair_min_population",
    ("unexpected_user", "min_transactions"): "user_min",
    ("unexpected_user", "authorised"): "authorised",
    ("unexpected_user", "system_users"): "system_users",
    ("concentration", "percent"): "concentration_pct",
    ("reversal_after_period_end", "days_before"): "reversal_before_days",
    ("reversal_after_period_end", "days_after"): "reversal_after_days",
    ("suspicious_description", "min_length"): "description_min",
    ("suspicious_description", "keywords"): "keywords",
    ("duplicate", "days"): "duplicate_days",
    ("sequence_gap", "min_gap"): "gap_min",
    ("outlier", "top_bp"): "outlier_top_bp",
    ("outlier", "z"): "outlier_z",
}
_RULE_TABLES = {rule.slug: rule for rule in JetRule}


def params_from_toml(document: dict[str, Any], source: str) -> JetParams:
    """JetParams from a parsed rules file; a bad table, key or value is an InputError."""
    values: dict[str, object] = {}
    weights = dict(DEFAULT_WEIGHTS)
    for table, body in document.items():
        where = f"{source} [{table}]"
        if not isinstance(body, dict) or (
            table not in _RULE_TABLES and table not in {"entity", "fields", "close"}
        ):
            raise InputError(where, "not a table of the JET rules file")
        for key, raw in body.items():
            if key == "weight" and table in _RULE_TABLES:
                weights[_RULE_TABLES[table]] = _number(raw, f"{where} {key}", minimum=0.0)
                continue
            name = _KEYS.get((table, key))
            if name is None:
                raise InputError(f"{where} {key}", "not a key of this table")
            values[name] = _convert(name, raw, f"{where} {key}")
    values["weights"] = tuple(weights.items())
    return replace(JetParams(), **values)  # type: ignore[arg-type]


def _convert(name: str, raw: object, where: str) -> object:  # noqa: C901, PLR0911 - one per shape
    if name == "timezone":
        return _zone(raw, where)
    if name == "weekend":
        return tuple(_weekday(v, where) for v in _list(raw, where))
    if name == "holidays":
        return tuple(sorted({_date(v, where) for v in _list(raw, where)}))
    if name == "business_hours":
        hours = tuple(_clock(v, where) for v in _list(raw, where))
        if len(hours) != 2 or hours[0] >= hours[1]:  # noqa: PLR2004 - a pair
            raise InputError(where, 'expected ["HH:MM", "HH:MM"], start before end')
        return hours
    if name == "close_at_ns":
        return _instant(raw, where)
    if name in {"weekend_scope", "split_scope"}:
        if raw not in _SCOPES:
            raise InputError(where, f"expected one of {', '.join(_SCOPES)}, got {raw!r}")
        return raw
    if name in {"ending_z", "outlier_z"}:
        return _number(raw, where, minimum=0.0)
    default = getattr(JetParams(), name)
    if isinstance(default, tuple):
        items = _list(raw, where)
        if name in {"round_bases", "thresholds"}:
            return tuple(
                sorted((_whole(v, where, 1) for v in items), reverse=name == "round_bases")
            )
        return tuple(
            _text(v, where).lower() if name == "keywords" else _text(v, where) for v in items
        )
    if isinstance(default, str):
        return _text(raw, where)
    return _whole(raw, where, 0)


def _list(raw: object, where: str) -> list[object]:
    if not isinstance(raw, list):
        raise InputError(where, f"expected a list, got {raw!r}")
    return raw


def _text(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw:
        raise InputError(where, f"expected text, got {raw!r}")
    return raw


def _whole(raw: object, where: str, minimum: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        raise InputError(where, f"expected a whole number >= {minimum}, got {raw!r}")
    return raw


def _number(raw: object, where: str, *, minimum: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < minimum:
        raise InputError(where, f"expected a number >= {minimum}, got {raw!r}")
    return float(raw)


def _zone(raw: object, where: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # noqa: PLC0415 - rarely needed

    text = _text(raw, where)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(where, f"not an IANA time zone: {text!r}") from None
    return text


def _weekday(raw: object, where: str) -> int:
    day = _WEEKDAYS.get(str(raw).lower()[:3]) if isinstance(raw, str) else None
    if day is None:
        raise InputError(where, f"expected a weekday name (sat, sun, ...), got {raw!r}")
    return day


def _date(raw: object, where: str) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    try:
        return dt.date.fromisoformat(_text(raw, where))
    except ValueError:
        raise InputError(where, f"expected a date YYYY-MM-DD, got {raw!r}") from None


def _clock(raw: object, where: str) -> int:
    try:
        hours, minutes = (int(p) for p in _text(raw, where).split(":"))
    except ValueError:
        raise InputError(where, f"expected HH:MM, got {raw!r}") from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60):  # noqa: PLR2004 - clock bounds
        raise InputError(where, f"expected HH:MM, got {raw!r}")
    return hours * 60 + minutes


def _instant(raw: object, where: str) -> int:
    if isinstance(raw, dt.datetime):
        moment = raw
    else:
        try:
            moment = dt.datetime.fromisoformat(_text(raw, where))
        except ValueError:
            raise InputError(
                where, f"expected an instant like 2025-02-05T18:00:00Z, got {raw!r}"
            ) from None
    if moment.tzinfo is None:
        raise InputError(where, "give the close instant with its offset (Z for UTC)")
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1_000


def read_jet_params(path: str | Path) -> JetParams:
    """The JET rules file at ``path`` (read by ``sources.toml_file``); errors name the key."""
    from ledger_audit.sources.toml_file import parse_toml, read_text  # noqa: PLC0415

    text = read_text(Path(path), "JET rules")
    return params_from_toml(parse_toml(text, str(path)), str(path))
