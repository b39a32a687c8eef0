"""Run the JET pack: population, every rule in catalogue order, coverage and the score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from ledger_audit.analytics.jet import account_rules, amount_rules, pattern_rules, people_rules
from ledger_audit.analytics.jet import time_rules as t
from ledger_audit.analytics.jet.catalogue import INFO, JetRule
from ledger_audit.analytics.jet.completeness import Completeness, population_completeness
from ledger_audit.analytics.jet.flags import RuleOutcome
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.analytics.jet.population import Population, build_population
from ledger_audit.analytics.jet.score import score_transactions
from ledger_audit.findings import CheckResult, sort_findings
from ledger_audit.replay.rollforward import RolledForward
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

Rule = Callable[[Population, JetParams], RuleOutcome]

RULES: dict[JetRule, Rule] = {
    JetRule.UNBALANCED: amount_rules.unbalanced,
    JetRule.WEEKEND: t.weekend,
    JetRule.HOLIDAY: t.holiday,
    JetRule.AFTER_HOURS: t.after_hours,
    JetRule.PERIOD_END: t.period_end_window,
    JetRule.POST_CLOSE: t.post_close,
    JetRule.BACKDATED: t.backdated,
    JetRule.FORWARD_DATED: t.forward_dated,
    JetRule.ROUND_AMOUNT: amount_rules.round_amount,
    JetRule.CONSISTENT_ENDINGS: amount_rules.consistent_endings,
    JetRule.JUST_BELOW: amount_rules.just_below,
    JetRule.SPLIT_BELOW: amount_rules.split_below,
    JetRule.SELDOM_ACCOUNT: account_rules.seldom_used,
    JetRule.RARE_PAIR: account_rules.rare_pair,
    JetRule.UNEXPECTED_USER: people_rules.unexpected_user,
    JetRule.SELF_APPROVAL: people_rules.self_approval,
    JetRule.CONCENTRATION: people_rules.concentration,
    JetRule.REVERSAL_AFTER_PERIOD_END: account_rules.reversal_after_period_end,
    JetRule.DESCRIPTION: pattern_rules.suspicious_description,
    JetRule.DUPLICATE: account_rules.duplicates,
    JetRule.SEQUENCE_GAP: pattern_rules.sequence_gaps,
    JetRule.OUTLIER: pattern_rules.outliers,
    JetRule.MANUAL: people_rules.manual_entry,
}
"""Every rule, in catalogue order (JE-01..JE-22)."""

COVERAGE_SCHEMA: dict[str, pl.DataType] = {
    "rule": pl.String(),
    "code": pl.String(),
    "status": pl.String(),
    "checked": pl.Int64(),
    "unit": pl.String(),
    "flagged": pl.Int64(),
    "weight": pl.Float64(),
    "note": pl.String(),
}


@dataclass(frozen=True, slots=True, eq=False)
class JetResult:
    """The pack's outcome.

    Attributes:
        period: the audited period.
        params: the parameters used (for the manifest).
        completeness: the population's completeness, stated first (None when not asked).
        population: transactions in the period.
        findings: every flag (FINDINGS_SCHEMA, canonical order).
        coverage: one row per rule (COVERAGE_SCHEMA): applied or "not applicable", what
            it examined, how many transactions it flagged, its weight and a note.
        scores: one row per flagged transaction (SCORES_SCHEMA), highest first.
    """

    period: Period
    params: JetParams
    completeness: Completeness | None
    population: int
    findings: pl.DataFrame
    coverage: pl.DataFrame
    scores: pl.DataFrame


def run_jet(
    frames: LedgerFrames,
    period: Period,
    params: JetParams | None = None,
    *,
    rules: tuple[JetRule, ...] | None = None,
    completeness: bool = True,
    chain: CheckResult | None = None,
    rolled: RolledForward | None = None,
) -> JetResult:
    """Run ``rules`` (default: all) over ``period``; completeness first unless turned off.

    ``chain``: the chain check's result over the same frames, when the caller already ran it
    (the close), so completeness reads the chain's verdict instead of verifying it again;
    ``rolled``, likewise, the roll-forward the caller already made of these frames.
    """
    params = params or JetParams()
    proof = population_completeness(frames, period, chain, rolled) if completeness else None
    pop = build_population(frames, period, params)
    size = pop.size
    chosen = rules if rules is not None else tuple(RULES)
    outcomes = [RULES[rule](pop, params) for rule in chosen]
    collected = pl.collect_all([o.findings for o in outcomes])
    applied = [(o.rule, o.applicable, o.note) for o in outcomes]
    # the population's frames (0.7 GiB at 1M, held by the rules' plans) go before the
    # findings are sorted and scored: those copies are the pack's peak
    del pop, outcomes
    findings = sort_findings(pl.concat(collected, how="vertical"))
    del collected
    counts = dict(findings.group_by("rule").agg(pl.col("transaction_id").n_unique()).iter_rows())
    coverage = pl.DataFrame(
        [
            {
                "rule": str(rule),
                "code": INFO[rule].code,
                "status": "applied" if applicable else "not applicable",
                "checked": size if applicable else 0,
                "unit": "transactions",
                "flagged": counts.get(str(rule), 0),
                "weight": params.weight(rule),
                "note": note,
            }
            for rule, applicable, note in applied
        ],
        schema=COVERAGE_SCHEMA,
    )
    return JetResult(
        period=period,
        params=params,
        completeness=proof,
        population=size,
        findings=findings,
        coverage=coverage,
        scores=score_transactions(findings, params),
    )
