"""JE-02..JE-08: when an entry was recorded and when it takes effect.

System time is the first version's ``created_ns`` for JE-02..04; JE-06..08 compare the
latest version's effective time with when that version was recorded (``posted_ns``: a
pending capture posted days later is not forward-dated). Local dates and hours use the entity's
time zone, and the rules that need it are "not applicable" without one. JE-05 and the
period boundaries use the period's own UTC calendar, as every report here does.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.analytics.jet.flags import (
    RuleOutcome,
    flag,
    iso,
    not_applicable,
    severity_if,
    utc,
)
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.analytics.jet.population import Population
from ledger_audit.findings import Severity

DAY_NS = 86_400 * 10**9
_NO_ZONE = "entity time zone absent (set [entity] timezone in the JET rules file)"


def _local(ns: str, zone: str) -> pl.Expr:
    return utc(ns).dt.convert_time_zone(zone)


def _scoped(pop: Population, scope: str) -> pl.LazyFrame:
    rows = pop.transactions
    return rows.filter(pl.col("manual")) if scope == "manual" else rows


def weekend(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-02: recorded (system time) or effective on a weekend day, local time."""
    if params.timezone is None:
        return not_applicable(JetRule.WEEKEND, _NO_ZONE)
    zone = params.timezone
    created = _local("created_ns", zone).dt.weekday().is_in(params.weekend)
    effective = _local("effective_ns", zone).dt.weekday().is_in(params.weekend)
    rows = _scoped(pop, params.weekend_scope).filter(created | effective)
    return flag(
        rows,
        JetRule.WEEKEND,
        message=pl.concat_str(
            pl.lit("entry "),
            pl.when(created).then(pl.lit("recorded")).otherwise(pl.lit("effective")),
            pl.lit(f" on a weekend day ({zone})"),
        ),
        expected=pl.lit("a business day"),
        actual=pl.concat_str(
            pl.lit("recorded "),
            _local("created_ns", zone).dt.strftime("%a %Y-%m-%d %H:%M"),
            pl.lit(", effective "),
            _local("effective_ns", zone).dt.strftime("%a %Y-%m-%d %H:%M"),
        ),
        severity=severity_if(created, Severity.MEDIUM, Severity.LOW),
        note=f"scope: {params.weekend_scope} kinds; time zone {zone}",
    )


def holiday(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-03: recorded or effective on one of the entity's holidays, local date."""
    if params.timezone is None:
        return not_applicable(JetRule.HOLIDAY, _NO_ZONE)
    if not params.holidays:
        return not_applicable(JetRule.HOLIDAY, "holiday calendar absent ([entity] holidays)")
    zone, days = params.timezone, list(params.holidays)
    created = _local("created_ns", zone).dt.date().is_in(days)
    effective = _local("effective_ns", zone).dt.date().is_in(days)
    rows = _scoped(pop, params.weekend_scope).filter(created | effective)
    return flag(
        rows,
        JetRule.HOLIDAY,
        message=pl.concat_str(
            pl.lit("entry "),
            pl.when(created).then(pl.lit("recorded")).otherwise(pl.lit("effective")),
            pl.lit(f" on a holiday ({zone})"),
        ),
        expected=pl.lit("a business day"),
        actual=pl.concat_str(
            pl.lit("recorded "),
            _local("created_ns", zone).dt.date().cast(pl.String()),
            pl.lit(", effective "),
            _local("effective_ns", zone).dt.date().cast(pl.String()),
        ),
        severity=severity_if(created, Severity.MEDIUM, Severity.LOW),
        note=f"{len(days)} holiday(s); scope: {params.weekend_scope} kinds",
    )


def after_hours(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-04: a manual entry recorded outside business hours (system flows run 24/7)."""
    if params.timezone is None:
        return not_applicable(JetRule.AFTER_HOURS, _NO_ZONE)
    zone = params.timezone
    start, end = params.business_hours
    local = _local("created_ns", zone)
    minute = local.dt.hour().cast(pl.Int32()) * 60 + local.dt.minute().cast(pl.Int32())
    rows = pop.transactions.filter(pl.col("manual") & ~minute.is_between(start, end - 1))
    hours = f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"
    return flag(
        rows,
        JetRule.AFTER_HOURS,
        message=pl.lit(f"manual entry recorded outside business hours {hours} ({zone})"),
        expected=pl.lit(hours),
        actual=local.dt.strftime("%Y-%m-%d %H:%M"),
        note=f"manual kinds only; time zone {zone}",
    )


def business_days(params: JetParams, first: dt.date, last: dt.date) -> list[dt.date]:
    """Business days from ``first`` to ``last`` inclusive (weekend and holidays excluded)."""
    off = set(params.holidays)
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if d.isoweekday() not in params.weekend and d not in off]


def period_end_window(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-05: effective in the last or first N business days around the period end (UTC)."""
    n = params.period_end_days
    end = dt.datetime.fromtimestamp(pop.period.end_ns // 10**9, tz=dt.UTC).date()
    before = business_days(params, end - dt.timedelta(days=7 * n + 14), end - dt.timedelta(1))
    after = business_days(params, end, end + dt.timedelta(days=7 * n + 14))
    window = (before[-n:] if n else []) + after[:n]
    day = utc("effective_ns").dt.date()
    rows = pop.transactions.filter(day.is_in(window))
    span = f"{window[0]} to {window[-1]}" if window else "empty"
    return flag(
        rows,
        JetRule.PERIOD_END,
        message=pl.lit(f"effective within {n} business days of the period end"),
        expected=pl.lit(f"outside {span}"),
        actual=day.cast(pl.String()),
        note=f"window {span} (UTC business days)",
    )


def post_close(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-06: booked into a closed period.

    Recorded after the run's close instant with an effective time in the period, or after
    the ledger's own ``closed_through_ns`` with an effective time at or before it.
    """
    closed = pop.closed_through.collect()
    if params.close_at_ns is None and closed.is_empty():
        return not_applicable(
            JetRule.POST_CLOSE,
            "close timestamp absent ([close] closed_at; the ledger records none)",
        )
    rows = pop.transactions.join(pop.closed_through, on="ledger_id", how="left")
    ledger_close = (
        pl.col("closed_through_ns").is_not_null()
        & (pl.col("effective_ns") <= pl.col("closed_through_ns"))
        & (pl.col("posted_ns") > pl.col("closed_through_ns"))
    )
    run_close = pl.lit(value=False)
    if params.close_at_ns is not None:
        run_close = (pl.col("effective_ns") < pop.period.end_ns) & (
            pl.col("posted_ns") > params.close_at_ns
        )
    close_text = (
        pl.lit(_ns_text(params.close_at_ns)) if params.close_at_ns is not None else pl.lit(None)
    )
    return flag(
        rows.filter(ledger_close | run_close),
        JetRule.POST_CLOSE,
        message=pl.when(ledger_close)
        .then(pl.lit("entry booked into a period the ledger records as closed"))
        .otherwise(pl.lit(f"entry effective in {pop.period.label} recorded after its close")),
        expected=pl.concat_str(
            pl.lit("recorded before the close at "),
            pl.when(ledger_close).then(iso("closed_through_ns")).otherwise(close_text),
        ),
        actual=pl.concat_str(
            pl.lit("recorded "), iso("posted_ns"), pl.lit(", effective "), iso("effective_ns")
        ),
        severity=severity_if(pl.col("manual"), Severity.HIGH, Severity.MEDIUM),
    )


def _ns_text(ns: int) -> str:
    moment = dt.datetime.fromtimestamp(ns // 10**9, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _month(ns: str) -> pl.Expr:
    return utc(ns).dt.truncate("1mo")


def backdated(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-07: effective more than N days before it was recorded; high if a month apart."""
    lag = params.backdated_days * DAY_NS
    rows = pop.transactions.filter(pl.col("effective_ns") < pl.col("posted_ns") - lag)
    return flag(
        rows,
        JetRule.BACKDATED,
        message=pl.lit(f"effective more than {params.backdated_days} days before it was recorded"),
        expected=pl.lit(f"effective within {params.backdated_days} days of recording"),
        actual=pl.concat_str(
            pl.lit("recorded "), iso("posted_ns"), pl.lit(", effective "), iso("effective_ns")
        ),
        severity=severity_if(
            _month("effective_ns") != _month("posted_ns"), Severity.HIGH, Severity.MEDIUM
        ),
    )


def forward_dated(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-08: effective more than N days after it was recorded; high if a month apart."""
    lead = params.forward_days * DAY_NS
    rows = pop.transactions.filter(pl.col("effective_ns") > pl.col("posted_ns") + lead)
    return flag(
        rows,
        JetRule.FORWARD_DATED,
        message=pl.lit(f"effective more than {params.forward_days} days after it was recorded"),
        expected=pl.lit(f"effective within {params.forward_days} days of recording"),
        actual=pl.concat_str(
            pl.lit("recorded "), iso("posted_ns"), pl.lit(", effective "), iso("effective_ns")
        ),
        severity=severity_if(
            _month("effective_ns") != _month("posted_ns"), Severity.HIGH, Severity.MEDIUM
        ),
    )
