"""JE-14, JE-15, JE-16 and JE-22: who posted an entry, who approved it, and manual kinds.

The core schema has no user fields: ``actor`` and ``approver`` come from metadata keys
(``[fields]`` in the rules file). Without them the rules are "not applicable", never a pass.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.analytics.jet.flags import RuleOutcome, flag, not_applicable
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.analytics.jet.population import Population


def _no_actor(rule: JetRule, params: JetParams) -> RuleOutcome:
    return not_applicable(rule, f"actor field absent (metadata key {params.actor_field!r})")


def unexpected_user(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-14: posted by someone who does not usually post.

    An actor with fewer than k transactions in the period, one not on the authorised list
    (when given), or a system user posting a manual kind.
    """
    if not pop.has_actor:
        return _no_actor(JetRule.UNEXPECTED_USER, params)
    rows = pop.transactions.filter(pl.col("actor").is_not_null()).with_columns(
        pl.len().over("ledger_id", "actor").alias("posted")
    )
    few = pl.col("posted") < params.user_min
    unlisted = (
        ~pl.col("actor").is_in(params.authorised) if params.authorised else pl.lit(value=False)
    )
    system = pl.col("actor").is_in(params.system_users) & pl.col("manual")
    why = (
        pl.when(system)
        .then(pl.lit("a system user posted a manual entry"))
        .when(unlisted)
        .then(pl.lit("the actor is not on the authorised list"))
        .otherwise(pl.lit("the actor seldom posts"))
    )
    return flag(
        rows.filter(few | unlisted | system),
        JetRule.UNEXPECTED_USER,
        message=pl.concat_str(pl.lit("posted by "), pl.col("actor"), pl.lit(": "), why),
        expected=pl.lit(f"an authorised actor with at least {params.user_min} transactions"),
        actual=pl.concat_str(
            pl.col("actor"),
            pl.lit(" posted "),
            pl.col("posted").cast(pl.String()),
            pl.lit(" transaction(s)"),
        ),
    )


def self_approval(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-15: the approver is the actor."""
    if not pop.has_actor:
        return _no_actor(JetRule.SELF_APPROVAL, params)
    if not pop.has_approver:
        return not_applicable(
            JetRule.SELF_APPROVAL, f"approver field absent (metadata key {params.approver_field!r})"
        )
    rows = pop.transactions.filter(pl.col("approver") == pl.col("actor"))
    return flag(
        rows,
        JetRule.SELF_APPROVAL,
        message=pl.concat_str(pl.lit("approved by its own poster "), pl.col("actor")),
        expected=pl.lit("an approver other than the poster"),
        actual=pl.concat_str(
            pl.lit("actor "), pl.col("actor"), pl.lit(", approver "), pl.col("approver")
        ),
    )


def concentration(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-16: one actor posts more than q % of the manual entries (each of them flagged)."""
    if not pop.has_actor:
        return _no_actor(JetRule.CONCENTRATION, params)
    manual = pop.transactions.filter(pl.col("manual") & pl.col("actor").is_not_null())
    rows = manual.with_columns(
        pl.len().over("ledger_id", "actor").alias("posted"),
        pl.len().over("ledger_id").alias("manual_total"),
    ).filter(pl.col("posted") * 100 > pl.col("manual_total") * params.concentration_pct)
    return flag(
        rows,
        JetRule.CONCENTRATION,
        message=pl.concat_str(pl.lit("manual entries concentrated on "), pl.col("actor")),
        expected=pl.lit(f"no actor above {params.concentration_pct} % of manual entries"),
        actual=pl.concat_str(
            pl.col("posted").cast(pl.String()),
            pl.lit(" of "),
            pl.col("manual_total").cast(pl.String()),
        ),
    )


def manual_entry(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-22: every manual or adjustment entry, reported for the score and the reviewer."""
    rows = pop.transactions.filter(pl.col("manual"))
    return flag(
        rows,
        JetRule.MANUAL,
        message=pl.concat_str(pl.lit("manual entry of kind "), pl.col("kind")),
        expected=pl.lit(f"kinds outside {', '.join(params.manual_kinds) or 'none'}"),
        actual=pl.col("kind"),
        note=f"manual kinds: {', '.join(params.manual_kinds) or 'none'}",
    )
