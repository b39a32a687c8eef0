"""The JET rule catalogue: stable dotted ids, the JE numbers auditors cite, severities.

JET ids live here, not in ``ledger_audit.findings.RuleId``: JET flags are risk indicators
over valid entries, not integrity failures, and the ``verify`` catalogue must not raise them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger_audit.findings import Severity


class JetRule(StrEnum):
    """Stable ids of the journal-entry tests (``jet.<name>``)."""

    UNBALANCED = "jet.unbalanced"
    WEEKEND = "jet.weekend"
    HOLIDAY = "jet.holiday"
    AFTER_HOURS = "jet.after_hours"
    PERIOD_END = "jet.period_end_window"
    POST_CLOSE = "jet.post_close"
    BACKDATED = "jet.backdated"
    FORWARD_DATED = "jet.forward_dated"
    ROUND_AMOUNT = "jet.round_amount"
    CONSISTENT_ENDINGS = "jet.consistent_endings"
    JUST_BELOW = "jet.just_below_threshold"
    SPLIT_BELOW = "jet.split_below_threshold"
    SELDOM_ACCOUNT = "jet.seldom_used_account"
    RARE_PAIR = "jet.unusual_account_pair"
    UNEXPECTED_USER = "jet.unexpected_user"
    SELF_APPROVAL = "jet.self_approval"
    CONCENTRATION = "jet.concentration"
    REVERSAL_AFTER_PERIOD_END = "jet.reversal_after_period_end"
    DESCRIPTION = "jet.suspicious_description"
    DUPLICATE = "jet.duplicate"
    SEQUENCE_GAP = "jet.sequence_gap"
    OUTLIER = "jet.outlier"
    MANUAL = "jet.manual_entry"

    @property
    def slug(self) -> str:
        """The name after ``jet.``: the rule's table in ``rules/jet.toml``."""
        return self.value.removeprefix("jet.")


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """A catalogue line.

    Attributes:
        rule: the id.
        code: the ANALYTICS.md number (``JE-02``); JE-11 has two ids (threshold, split sets).
        severity: the default severity of a flag (some rules raise it, e.g. a back-dated
            entry that crosses a period boundary).
        doc: one line for the coverage table and ``docs``.
    """

    rule: JetRule
    code: str
    severity: Severity
    doc: str


CATALOGUE: tuple[RuleInfo, ...] = (
    RuleInfo(
        JetRule.UNBALANCED, "JE-01", Severity.CRITICAL, "debits differ from credits per asset"
    ),
    RuleInfo(JetRule.WEEKEND, "JE-02", Severity.MEDIUM, "recorded or effective on a weekend day"),
    RuleInfo(JetRule.HOLIDAY, "JE-03", Severity.MEDIUM, "recorded or effective on a holiday"),
    RuleInfo(JetRule.AFTER_HOURS, "JE-04", Severity.MEDIUM, "manual entry outside business hours"),
    RuleInfo(JetRule.PERIOD_END, "JE-05", Severity.INFO, "effective near the period end"),
    RuleInfo(JetRule.POST_CLOSE, "JE-06", Severity.HIGH, "booked into a period after its close"),
    RuleInfo(JetRule.BACKDATED, "JE-07", Severity.MEDIUM, "effective long before it was recorded"),
    RuleInfo(JetRule.FORWARD_DATED, "JE-08", Severity.MEDIUM, "effective long after recording"),
    RuleInfo(JetRule.ROUND_AMOUNT, "JE-09", Severity.LOW, "a large round amount"),
    RuleInfo(JetRule.CONSISTENT_ENDINGS, "JE-10", Severity.MEDIUM, "over-represented endings"),
    RuleInfo(JetRule.JUST_BELOW, "JE-11", Severity.MEDIUM, "just below an approval threshold"),
    RuleInfo(JetRule.SPLIT_BELOW, "JE-11", Severity.HIGH, "a split set that crosses a threshold"),
    RuleInfo(JetRule.SELDOM_ACCOUNT, "JE-12", Severity.LOW, "a seldom-used or dormant account"),
    RuleInfo(JetRule.RARE_PAIR, "JE-13", Severity.MEDIUM, "a rare debit x credit account pair"),
    RuleInfo(JetRule.UNEXPECTED_USER, "JE-14", Severity.MEDIUM, "posted by an unexpected user"),
    RuleInfo(JetRule.SELF_APPROVAL, "JE-15", Severity.HIGH, "approved by the person who posted"),
    RuleInfo(JetRule.CONCENTRATION, "JE-16", Severity.MEDIUM, "one actor posts most manual work"),
    RuleInfo(
        JetRule.REVERSAL_AFTER_PERIOD_END, "JE-17", Severity.HIGH, "reversed just after period end"
    ),
    RuleInfo(JetRule.DESCRIPTION, "JE-18", Severity.LOW, "blank or suspicious description"),
    RuleInfo(JetRule.DUPLICATE, "JE-19", Severity.MEDIUM, "same legs as another transaction"),
    RuleInfo(JetRule.SEQUENCE_GAP, "JE-20", Severity.HIGH, "a number missing in a sequence"),
    RuleInfo(JetRule.OUTLIER, "JE-21", Severity.LOW, "high value or per-account outlier"),
    RuleInfo(JetRule.MANUAL, "JE-22", Severity.INFO, "a manual or adjustment entry"),
)

INFO: dict[JetRule, RuleInfo] = {info.rule: info for info in CATALOGUE}

STRENGTH: dict[Severity, float] = {
    Severity.CRITICAL: 1.0,
    Severity.HIGH: 0.8,
    Severity.MEDIUM: 0.5,
    Severity.LOW: 0.3,
    Severity.INFO: 0.1,
}
"""s_i of the composite score: how strongly one flag of that severity points at risk."""
