"""Drift report: the ledger against the bank, day by day, and what explains the difference.

Per mapped bank account x asset (``MatchRules.accounts``) and UTC day from ``first_day`` to
``last_day``:

- ``ledger``: the ledger account's posted closing balance (DESIGN.md section 3, effective
  basis) in the **bank's sign convention**, debits minus credits: money in the account is
  positive, as on the statement, whatever the account's normal side. Pending never counts
  (a bank's booked balance holds no authorisations).
- ``external``: the statement's closing balance, carried forward from the last day a
  statement states one. A ``CLBD`` dated D closes D; an ``OPBD`` dated D closes D - 1 (a
  CLBD of the same day wins); intermediate balances (MT940 62M, camt INTM) and other kinds
  are not closing balances. ``external_date`` is the day it closes, ``external_age_days``
  how old it is, and ``stale`` is set when it is older than ``stale_after_days`` or there is
  none yet.
- ``drift`` = external - ledger, split into the open reconciling items by class and an
  ``unexplained`` remainder: drift = sum of the class columns + unexplained.

Which items are open on day D. A ledger item counts once its day is <= D; a bank record once
its booking day is <= ``external_date`` (the day of the balance the drift is measured
against: a record the stale balance does not hold yet explains nothing). Each contributes
what it adds to external - ledger: a record its amount, a ledger item minus its amount (both
signed in the bank's view). The classes:

- the reconciliation's break classes (``in_transit``, ``missing_external``,
  ``missing_internal``, ``amount_mismatch``, ``duplicate``, ``reversal``): every break of
  that class on the account. ``unmapped_account`` and ``not_booked`` breaks explain nothing
  (the first is on no mapped account, the second is not in a booked balance);
- ``timing``: members of automatic matches not all open yet on that day: a ledger item whose
  bank line books later, or the reverse. Zero once the whole match is in;
- ``match_difference``: the external - internal difference of the automatic matches that
  are complete (a stage-3 amount tolerance), from the day they complete;
- ``suggested``: members of suggested matches, which only a person can confirm.

A break is classified once, as of the reconciliation's as-of day; the report uses that class
on every day the item is open. ``unexplained`` is what no open item accounts for: a
statement balance that does not add up to its records, a bank line or ledger entry the
reconciliation did not see, an opening balance the ledger lacks. It is ``material`` when its
absolute value exceeds the account's materiality (minor units; 0 makes any difference
material).

Findings: ``drift.unexplained`` (high) per account and run of consecutive days with the same
material unexplained amount (the run's first day is when it appeared);
``drift.stale_external`` (medium) per account and run of stale days on the same statement
balance (or with none). Rule ids are module constants (to join ``RuleId``).

Money is integer minor units throughout; Decimal appears only in ``viz.drift``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.findings import (
    FINDINGS_SCHEMA,
    Coverage,
    RuleId,
    Severity,
    findings_from,
    sort_findings,
)
from ledger_audit.reconcile.breaks import CLASSES
from ledger_audit.reconcile.internal import internal_items
from ledger_audit.reconcile.match import Reconciliation
from ledger_audit.reconcile.stages import SUGGESTED
from ledger_audit.replay.balances import SUM_AMOUNT
from ledger_audit.replay.history import balance_history
from ledger_audit.sources.bank.records import BALANCE_SCHEMA, RECORD_SCHEMA
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.match_rules import MatchRules

DRIFT_UNEXPLAINED = RuleId.DRIFT_UNEXPLAINED
DRIFT_STALE_EXTERNAL = RuleId.DRIFT_STALE_EXTERNAL
"""Rule ids of the drift findings (to join ``RuleId`` in ``findings.py``)."""

CHECK = "drift"

NOT_EXPLAINING = ("unmapped_account", "not_booked")
"""Break classes that explain no drift: on no mapped account, or not in a booked balance."""

MATCH_CLASSES = ("timing", "match_difference", "suggested")
"""Reconciling classes derived from matches rather than breaks."""

DRIFT_CLASSES: tuple[str, ...] = (
    *(c for c in CLASSES if c not in NOT_EXPLAINING),
    *MATCH_CLASSES,
)
"""Every class that explains drift, in the order of the report's columns."""

CLOSING_KINDS = ("CLBD", "OPBD")
"""Statement balance kinds read as closing balances (an OPBD closes the day before)."""

DEFAULT_STALE_AFTER_DAYS = 3
"""A statement balance older than this many days is stale (a weekend is two days)."""

KEY = ("account_ref", "asset_id")
"""A mapped bank account: the key of every row of the report."""

DAILY_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "account_id": pl.String(),
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "day": pl.Date(),
    "ledger": SUM_AMOUNT,
    "external": SUM_AMOUNT,
    "external_date": pl.Date(),
    "external_age_days": pl.Int32(),
    "stale": pl.Boolean(),
    "drift": SUM_AMOUNT,
    **dict.fromkeys(DRIFT_CLASSES, SUM_AMOUNT),
    "explained": SUM_AMOUNT,
    "unexplained": SUM_AMOUNT,
    "materiality": pl.Int64(),
    "material": pl.Boolean(),
}
"""One row per mapped bank account x asset x day. ``ledger_id`` is the mapping's ledger (or
the only ledger loaded); ``account_id`` the ledger account; ``external``, ``external_date``,
``external_age_days``, ``drift`` and ``unexplained`` are null before the first statement
balance. Class columns and ``explained`` are never null. Money is SUM_AMOUNT (Decimal(38,
0)): balances and open items are sums, exact past int64."""

EXPLAINED_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "account_id": pl.String(),
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "day": pl.Date(),
    "class": pl.String(),
    "amount": SUM_AMOUNT,
}
"""The class columns of ``daily`` in long form, non-zero amounts only."""

_EPOCH = dt.date(1970, 1, 1)
_INTERNAL, _EXTERNAL = "internal", "external"


@dataclass(frozen=True, slots=True, eq=False)
class DriftReport:
    """The ledger against the bank over a range of days (see the module docstring).

    Attributes:
        first_day: the first day reported.
        last_day: the last day reported.
        stale_after_days: how old a statement balance may be before it is stale.
        as_of: the reconciliation's as-of day (the day its breaks were classified).
        daily: DAILY_SCHEMA, sorted by account_ref, asset_id, day.
        explained: EXPLAINED_SCHEMA, sorted by account_ref, asset_id, day, class.
        findings: FINDINGS_SCHEMA: material unexplained drift and stale statement balances.
        coverage: what was examined and what the report cannot prove.
    """

    first_day: dt.date
    last_day: dt.date
    stale_after_days: int
    as_of: dt.date
    daily: pl.DataFrame
    explained: pl.DataFrame
    findings: pl.DataFrame
    coverage: Coverage

    def __post_init__(self) -> None:
        for name, frame, schema in (
            ("daily", self.daily, DAILY_SCHEMA),
            ("explained", self.explained, EXPLAINED_SCHEMA),
            ("findings", self.findings, FINDINGS_SCHEMA),
        ):
            if dict(frame.schema) != schema:
                raise ValueError(f"{name} schema {dict(frame.schema)} is not {schema}")

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames by name (for writers and for comparing two runs)."""
        return {"daily": self.daily, "explained": self.explained, "findings": self.findings}

    def account(self, account_id: str, asset_id: str) -> pl.DataFrame:
        """The daily rows of one ledger account x asset."""
        return self.daily.filter(
            (pl.col("account_id") == account_id) & (pl.col("asset_id") == asset_id)
        )


def build_drift_report(
    frames: LedgerFrames,
    balances: pl.DataFrame,
    reconciliation: Reconciliation,
    rules: MatchRules,
    *,
    records: pl.DataFrame,
    first_day: dt.date,
    last_day: dt.date,
    materiality: int | Mapping[str, int] = 0,
    stale_after_days: int = DEFAULT_STALE_AFTER_DAYS,
) -> DriftReport:
    """The drift report of every bank account ``rules`` maps (see the module docstring).

    Args:
        frames: the loaded ledger(s).
        balances: the statements' balances (``BALANCE_SCHEMA``).
        reconciliation: the reconciliation of ``frames`` against ``records`` under ``rules``.
        rules: the bank account mapping the reconciliation used.
        records: the statements' records the reconciliation ran on (``RECORD_SCHEMA``); they
            date the bank side of its matches.
        first_day: the first day reported.
        last_day: the last day reported.
        materiality: minor units of unexplained drift that are immaterial: one threshold for
            every account, or one per ledger account id (an account not named gets 0).
        stale_after_days: a statement balance older than this is stale.
    """
    rules = rules.bank_accounts()  # a processor account states no balance to drift against
    _check_inputs(
        balances,
        records,
        first_day=first_day,
        last_day=last_day,
        materiality=materiality,
        stale_after_days=stale_after_days,
    )
    mapping = _mapping(frames, rules)
    grid = _with_external(_ledger_days(frames, mapping, first_day, last_day), balances, mapping)
    grid = grid.with_columns(
        (pl.col("day") - pl.col("external_date"))
        .dt.total_days()
        .cast(pl.Int32())
        .alias("external_age_days"),
    ).with_columns(
        (
            pl.col("external_age_days").is_null() | (pl.col("external_age_days") > stale_after_days)
        ).alias("stale"),
        (pl.col("external") - pl.col("ledger")).alias("drift"),
    )
    events = pl.concat(
        [
            _break_events(reconciliation.breaks, mapping),
            _match_events(
                frames, rules, reconciliation, records=records, mapping=mapping, grid=grid
            ),
        ],
        how="vertical",
    )
    explained = _explained(grid, events)
    daily = _daily(grid, explained, materiality)
    return DriftReport(
        first_day=first_day,
        last_day=last_day,
        stale_after_days=stale_after_days,
        as_of=reconciliation.as_of,
        daily=daily,
        explained=explained.join(
            grid.select("ledger_id", "account_id", *KEY, "day"), on=[*KEY, "day"]
        )
        .filter(pl.col("amount") != 0)
        .select(list(EXPLAINED_SCHEMA))
        .sort(*KEY, "day", "class"),
        findings=sort_findings(pl.concat([_unexplained_findings(daily), _stale_findings(daily)])),
        coverage=_coverage(daily, rules, reconciliation, first_day, last_day),
    )


def _check_inputs(
    balances: pl.DataFrame,
    records: pl.DataFrame,
    *,
    first_day: dt.date,
    last_day: dt.date,
    materiality: int | Mapping[str, int],
    stale_after_days: int,
) -> None:
    if dict(balances.schema) != BALANCE_SCHEMA:
        raise InputError("statement balances", f"schema {dict(balances.schema)} is not BALANCE")
    if dict(records.schema) != RECORD_SCHEMA:
        raise InputError("statement records", f"schema {dict(records.schema)} is not RECORD")
    if first_day > last_day:
        raise InputError("first_day", f"{first_day} is after last_day {last_day}")
    if stale_after_days < 0:
        raise InputError("stale_after_days", f"must be >= 0, got {stale_after_days}")
    thresholds = [materiality] if isinstance(materiality, int) else list(materiality.values())
    if any(value < 0 for value in thresholds):
        raise InputError("materiality", "thresholds are minor units >= 0")


def _mapping(frames: LedgerFrames, rules: MatchRules) -> pl.DataFrame:
    """The mapped bank accounts, with the ledger the report names for each."""
    ledgers = frames.ledgers["ledger_id"]
    sole = ledgers[0] if ledgers.len() == 1 else None
    return (
        rules.account_frame()
        .rename({"ledger_id": "_map_ledger"})
        .with_columns(
            pl.coalesce(pl.col("_map_ledger"), pl.lit(sole, dtype=pl.String())).alias("ledger_id")
        )
    )


def _ledger_days(
    frames: LedgerFrames, mapping: pl.DataFrame, first_day: dt.date, last_day: dt.date
) -> pl.DataFrame:
    """Every mapped account x day with its ledger balance in the bank's convention."""
    history = (
        balance_history(
            frames, first_day, last_day, account_ids=mapping["account_id"].unique().to_list()
        )
        .select(
            pl.col("ledger_id").alias("_ledger"),
            "account_id",
            "asset_id",
            "day",
            (pl.col("posted_debits") - pl.col("posted_credits")).alias("ledger"),
        )
        .join(mapping.lazy(), on=["account_id", "asset_id"], how="inner")
        .filter(pl.col("_map_ledger").is_null() | (pl.col("_map_ledger") == pl.col("_ledger")))
        .group_by(*KEY, "day")
        .agg(pl.col("ledger").sum())
    )
    days = pl.LazyFrame({"day": pl.date_range(first_day, last_day, "1d", eager=True)})
    return (
        mapping.lazy()
        .select("ledger_id", "account_id", *KEY)
        .join(days, how="cross")
        .join(history, on=[*KEY, "day"], how="left")
        .with_columns(pl.col("ledger").fill_null(0))
        .sort("day")
        .collect()
    )


def _with_external(
    grid: pl.DataFrame, balances: pl.DataFrame, mapping: pl.DataFrame
) -> pl.DataFrame:
    """Add ``external`` and ``external_date``: the last closing balance on or before the day."""
    closing = (
        balances.join(mapping.select(*KEY), on=list(KEY), how="inner")
        .filter(
            pl.col("kind").is_in(CLOSING_KINDS) & ~pl.col("intermediate").fill_null(value=False)
        )
        .with_columns(
            pl.when(pl.col("kind") == "OPBD")
            .then(pl.col("date") - pl.duration(days=1))
            .otherwise(pl.col("date"))
            .alias("external_date"),
            (pl.col("kind") == "OPBD").alias("_from_opening"),
        )
        .sort(*KEY, "external_date", "_from_opening", "file", "line", nulls_last=True)
        .unique([*KEY, "external_date"], keep="first", maintain_order=True)
        .select(*KEY, "external_date", pl.col("amount").alias("external"))
        .sort("external_date")
    )
    return grid.join_asof(
        closing,
        left_on="day",
        right_on="external_date",
        by=list(KEY),
        strategy="backward",
        check_sortedness=False,  # both sides sorted by the date they join on
    ).sort(*KEY, "day")


def _signed(side: pl.Expr, amount: pl.Expr) -> pl.Expr:
    """What a member adds to external - ledger: a record its amount, a ledger item minus it."""
    return pl.when(side == _EXTERNAL).then(amount).otherwise(-amount)


_EVENT_SCHEMA: dict[str, pl.DataType] = {
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "class": pl.String(),
    "clock": pl.String(),
    "date": pl.Date(),
    "amount": SUM_AMOUNT,
}
"""One contribution to drift: from ``date`` on, on the ``clock`` of its side (``internal``:
the report day; ``external``: the day of the statement balance)."""


def _break_events(breaks: pl.DataFrame, mapping: pl.DataFrame) -> pl.DataFrame:
    return (
        breaks.filter(~pl.col("class").is_in(NOT_EXPLAINING))
        .join(mapping.select(*KEY), on=list(KEY), how="inner")
        .select(
            *KEY,
            "class",
            pl.col("side").alias("clock"),
            "date",
            _signed(pl.col("side"), pl.col("amount")).alias("amount"),
        )
        .cast(pl.Schema(_EVENT_SCHEMA))
    )


def _match_events(
    frames: LedgerFrames,
    rules: MatchRules,
    reconciliation: Reconciliation,
    *,
    records: pl.DataFrame,
    mapping: pl.DataFrame,
    grid: pl.DataFrame,
) -> pl.DataFrame:
    """Timing, suggested and completed-difference events of the matches' members."""
    links = reconciliation.links
    if links.is_empty():
        return pl.DataFrame(schema=_EVENT_SCHEMA)
    items = internal_items(frames, rules).select(
        pl.lit(_INTERNAL).alias("side"),
        "item_id",
        pl.lit(None, dtype=pl.String()).alias("file"),
        "date",
        "amount",
    )
    bank = records.select(
        pl.lit(_EXTERNAL).alias("side"),
        pl.col("record_id").alias("item_id"),
        "file",
        pl.col("booking_date").alias("date"),
        "amount",
    )
    dated = (
        links.join(
            reconciliation.matches.select("match_id", "status", *KEY), on="match_id", how="inner"
        )
        .join(mapping.select(*KEY), on=list(KEY), how="inner")
        .join(
            pl.concat([items, bank]), on=["side", "item_id", "file"], how="left", nulls_equal=True
        )
    )
    undated = dated.filter(pl.col("date").is_null())
    if undated.height:
        first = undated.sort("match_id", "side", "item_id").row(0, named=True)
        raise InputError(
            f"match {first['match_id']}",
            f"{first['side']} member {first['item_id']} is in neither the ledger items nor the "
            "records given: pass the records and ledger the reconciliation ran on",
        )
    members = dated.select(
        *KEY,
        pl.when(pl.col("status") == SUGGESTED)
        .then(pl.lit("suggested"))
        .otherwise(pl.lit("timing"))
        .alias("class"),
        pl.col("side").alias("clock"),
        "date",
        _signed(pl.col("side"), pl.col("amount")).alias("amount"),
    )
    return pl.concat(
        [members.cast(pl.Schema(_EVENT_SCHEMA)), _completions(dated, grid)], how="vertical"
    )


def _completions(dated: pl.DataFrame, grid: pl.DataFrame) -> pl.DataFrame:
    """Events moving each automatic match's difference from timing to match_difference.

    On the first report day both of its sides are in: its last ledger day has passed and the
    statement balance reaches its last booking day.
    """
    per_match = (
        dated.filter(pl.col("status") != SUGGESTED)
        .group_by("match_id", *KEY)
        .agg(
            pl.col("date").filter(pl.col("side") == _INTERNAL).max().alias("last_internal"),
            pl.col("date").filter(pl.col("side") == _EXTERNAL).max().alias("last_external"),
            _signed(pl.col("side"), pl.col("amount").cast(SUM_AMOUNT)).sum().alias("difference"),
        )
        .filter(pl.col("difference") != 0)
        .sort("last_external")
    )
    if per_match.is_empty():
        return pl.DataFrame(schema=_EVENT_SCHEMA)
    reaches = (
        grid.filter(pl.col("external_date").is_not_null())
        .group_by(*KEY, "external_date")
        .agg(pl.col("day").min().alias("reached"))
        .sort("external_date")
    )
    done = (
        per_match.join_asof(
            reaches,
            left_on="last_external",
            right_on="external_date",
            by=list(KEY),
            strategy="forward",
            check_sortedness=False,  # both sides sorted by the date they join on
        )
        .filter(pl.col("reached").is_not_null())
        .with_columns(pl.max_horizontal("reached", "last_internal").alias("date"))
    )
    return pl.concat(
        [
            done.select(
                *KEY,
                pl.lit(name).alias("class"),
                pl.lit(_INTERNAL).alias("clock"),
                "date",
                (sign * pl.col("difference")).alias("amount"),
            ).cast(pl.Schema(_EVENT_SCHEMA))
            for name, sign in (("match_difference", 1), ("timing", -1))
        ],
        how="vertical",
    )


def _explained(grid: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """(account_ref, asset_id, day, class, amount): each class's open items on each day."""
    running = (
        events.group_by(*KEY, "class", "clock", "date")
        .agg(pl.col("amount").sum())
        .sort(*KEY, "class", "clock", "date")
        .with_columns(pl.col("amount").cum_sum().over(*KEY, "class", "clock").alias("open"))
        .sort("date")
    )
    classes = events.select(*KEY, "class").unique()
    base = grid.select(
        *KEY, "day", pl.col("external_date").fill_null(_EPOCH - dt.timedelta(days=1))
    ).join(classes, on=list(KEY), how="inner")
    parts = []
    for clock, on in ((_INTERNAL, "day"), (_EXTERNAL, "external_date")):
        side = running.filter(pl.col("clock") == clock).select(
            *KEY, "class", pl.col("date").alias("_date"), "open"
        )
        parts.append(
            base.sort(on)
            .join_asof(
                side,
                left_on=on,
                right_on="_date",
                by=[*KEY, "class"],
                strategy="backward",
                check_sortedness=False,  # both sides sorted by the date they join on
            )
            .select(*KEY, "day", "class", pl.col("open").fill_null(0))
        )
    return (
        pl.concat(parts)
        .group_by(*KEY, "day", "class")
        .agg(pl.col("open").sum().cast(SUM_AMOUNT).alias("amount"))
    )


def _daily(
    grid: pl.DataFrame, explained: pl.DataFrame, materiality: int | Mapping[str, int]
) -> pl.DataFrame:
    wide = explained.group_by(*KEY, "day").agg(
        pl.col("amount").filter(pl.col("class") == name).sum().alias(name) for name in DRIFT_CLASSES
    )
    if isinstance(materiality, int):
        threshold = pl.lit(materiality, dtype=pl.Int64())
    else:
        threshold = pl.col("account_id").replace_strict(
            dict(materiality), default=0, return_dtype=pl.Int64()
        )
    return (
        grid.join(wide, on=[*KEY, "day"], how="left")
        .with_columns(pl.col(name).fill_null(0).cast(SUM_AMOUNT) for name in DRIFT_CLASSES)
        .with_columns(pl.sum_horizontal(DRIFT_CLASSES).cast(SUM_AMOUNT).alias("explained"))
        .with_columns(
            (pl.col("drift") - pl.col("explained")).alias("unexplained"),
            threshold.alias("materiality"),
        )
        .with_columns(
            (pl.col("unexplained").abs() > pl.col("materiality"))
            .fill_null(value=False)
            .alias("material")
        )
        .select(list(DAILY_SCHEMA))
        .cast(pl.Schema(DAILY_SCHEMA))
        .sort(*KEY, "day")
    )


def _runs(daily: pl.DataFrame, flag: str, *same: str) -> pl.DataFrame:
    """Runs of consecutive flagged days per account with the same ``same`` values."""
    return (
        daily.sort(*KEY, "day")
        .with_columns(
            pl.struct(flag, *same).rle_id().over(list(KEY)).alias("_run"),
        )
        .filter(pl.col(flag))
        .group_by(*KEY, "_run")
        .agg(
            pl.col("ledger_id", "account_id", *same).first(),
            pl.col("day").min().alias("from_day"),
            pl.col("day").max().alias("to_day"),
            pl.len().alias("days"),
            pl.col("materiality", "external").first(),
        )
    )


def _amount(amount: pl.Expr) -> pl.Expr:
    return pl.concat_str(amount.cast(pl.String()), pl.lit(" "), pl.col("asset_id"))


def _where(what: str) -> pl.Expr:
    return pl.concat_str(
        pl.lit(f"{what}(account_ref="),
        pl.col("account_ref"),
        pl.lit(", asset_id="),
        pl.col("asset_id"),
        pl.lit(", from="),
        pl.col("from_day").cast(pl.String()),
        pl.lit(", to="),
        pl.col("to_day").cast(pl.String()),
        pl.lit(")"),
    )


def _span() -> pl.Expr:
    return pl.concat_str(
        pl.lit(" from "),
        pl.col("from_day").cast(pl.String()),
        pl.lit(" to "),
        pl.col("to_day").cast(pl.String()),
        pl.lit(" ("),
        pl.col("days").cast(pl.String()),
        pl.lit(" day(s))"),
    )


def _unexplained_findings(daily: pl.DataFrame) -> pl.DataFrame:
    runs = _runs(daily, "material", "unexplained")
    return findings_from(
        runs.lazy(),
        rule=DRIFT_UNEXPLAINED,
        severity=Severity.HIGH,
        check=CHECK,
        table=None,
        locator=_where("drift"),
        message=pl.concat_str(
            pl.lit("unexplained drift of "),
            _amount(pl.col("unexplained")),
            pl.lit(" between the statement of "),
            pl.col("account_ref"),
            pl.lit(" and ledger account "),
            pl.col("account_id"),
            _span(),
            pl.lit(", above the materiality of "),
            _amount(pl.col("materiality")),
        ),
        expected=pl.concat_str(pl.lit("|unexplained| <= "), _amount(pl.col("materiality"))),
        actual=_amount(pl.col("unexplained")),
        difference=pl.col("unexplained"),
    ).collect()


def _stale_findings(daily: pl.DataFrame) -> pl.DataFrame:
    runs = _runs(daily, "stale", "external_date")
    none = pl.col("external_date").is_null()
    return findings_from(
        runs.lazy(),
        rule=DRIFT_STALE_EXTERNAL,
        severity=Severity.MEDIUM,
        check=CHECK,
        table=None,
        locator=_where("statement"),
        message=pl.when(none)
        .then(
            pl.concat_str(
                pl.lit("no statement balance of "),
                pl.col("account_ref"),
                pl.lit(" "),
                pl.col("asset_id"),
                pl.lit(" on or before any day"),
                _span(),
            )
        )
        .otherwise(
            pl.concat_str(
                pl.lit("the statement balance of "),
                pl.col("account_ref"),
                pl.lit(" closes "),
                pl.col("external_date").cast(pl.String()),
                pl.lit(" and is carried"),
                _span(),
                pl.lit(": bank movements since are not in it"),
            )
        ),
        expected=pl.lit("a closing balance at most the stale threshold old"),
        actual=pl.when(none)
        .then(pl.lit("none"))
        .otherwise(
            pl.concat_str(
                _amount(pl.col("external")),
                pl.lit(" closing "),
                pl.col("external_date").cast(pl.String()),
            )
        ),
    ).collect()


def _coverage(
    daily: pl.DataFrame,
    rules: MatchRules,
    reconciliation: Reconciliation,
    first_day: dt.date,
    last_day: dt.date,
) -> Coverage:
    unproven: list[str] = []
    if daily["stale"].any():
        unproven.append(
            "on stale days the drift is against the last stated balance: what the bank "
            "booked since is in neither side of it"
        )
    if reconciliation.as_of < last_day:
        unproven.append(
            f"breaks are classified as of {reconciliation.as_of.isoformat()}: later items and "
            "records explain nothing"
        )
    if reconciliation.matches.filter(pl.col("status") == SUGGESTED).height:
        unproven.append("suggested matches explain drift only once a person confirms them")
    return Coverage(
        checked=daily.height,
        unit="bank account days",
        scope=f"{len(rules.accounts)} mapped bank account(s), {first_day.isoformat()} to "
        f"{last_day.isoformat()}, reconciliation as of {reconciliation.as_of.isoformat()}, "
        f"rules {rules.version}",
        unproven=tuple(unproven),
    )
