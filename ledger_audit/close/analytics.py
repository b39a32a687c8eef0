"""The close's journal-entry testing and ledger-native analytics: one more stage.

The JET pack (``analytics.jet``) over the closed period, with the population's completeness
stated first, and the idempotency, pending-lifecycle (at the period's last instant) and
reversal analytics, the Benford first-digit and first-two-digit tests of the period's amounts
(``close.benford_section``) and the flux review of the GL accounts against the month before
(``close.flux_section``; it needs the close's GL mapping, and without one its coverage says
"not run: no GL mapping"). Their flags stay here, in their own section and tables: they are risk
indicators for a tester to work through, not exceptions, so they never enter the close's
findings, its severity counts or its verdict. Each analytic still states its coverage (a
``CheckResult`` per analytic, in the manifest), so "no flag" over nothing is never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.analytics.benford.suite import BenfordResult
from ledger_audit.analytics.flux_explanations import ExplainedFlux
from ledger_audit.analytics.idempotency import IdempotencyResult, classify_idempotency
from ledger_audit.analytics.jet.engine import JetResult, run_jet
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.analytics.pending import PendingParams, PendingResult, pending_lifecycle
from ledger_audit.analytics.reversals import ReversalResult, reversal_intelligence
from ledger_audit.close.benford_section import benford_result, run_close_benford
from ledger_audit.close.flux_section import flux_result, run_close_flux
from ledger_audit.findings import CheckResult, Coverage
from ledger_audit.replay.rollforward import RolledForward
from ledger_audit.sources.gl_mapping import GlMapping
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.spill import spilled_record
from ledger_audit.spec import Period

JET_CHECK = "jet"


@dataclass(frozen=True, slots=True, eq=False)
class CloseAnalytics:
    """What the analytics stage computed over one close.

    Attributes:
        period_end_ns: the period's last instant (pending aging and cut-off, crossings).
        jet: the JET pack's result (completeness, coverage per rule, findings, scores).
        idempotency: every submission's class.
        pending: pending transactions at the period's last instant.
        reversals: reversal pairs, lags and crossings of the period end.
        benford: the first-digit and first-two-digit tests of the period's amounts.
        flux: the flux review with the reviewer's explanations; None without a GL mapping.
    """

    period_end_ns: int
    jet: JetResult
    idempotency: IdempotencyResult
    pending: PendingResult
    reversals: ReversalResult
    benford: tuple[BenfordResult, ...] = ()
    flux: ExplainedFlux | None = None

    @property
    def results(self) -> tuple[CheckResult, ...]:
        """One check result per analytic (for the manifest's coverage), JET first."""
        return (
            CheckResult(JET_CHECK, self.jet.findings, jet_coverage(self.jet)),
            CheckResult(
                "analytics.idempotency", self.idempotency.findings, self.idempotency.coverage
            ),
            CheckResult("analytics.pending", self.pending.findings, self.pending.coverage),
            CheckResult("analytics.reversals", self.reversals.findings, self.reversals.coverage),
            benford_result(self.benford, self.jet.period),
            flux_result(self.flux),
        )


def jet_coverage(jet: JetResult) -> Coverage:
    """The pack's coverage: its population, and every rule it could not apply and why."""
    rules = jet.coverage
    applied = rules.filter(pl.col("status") == "applied").height
    unproven = [
        f"{code} {rule} {note or 'not applicable'}"
        for code, rule, note in rules.filter(pl.col("status") != "applied")
        .select("code", "rule", "note")
        .iter_rows()
    ]
    proof = jet.completeness
    if proof is not None and proof.rollforward_breaks:
        unproven.append(f"{proof.rollforward_breaks} roll-forward row(s) do not tie out")
    if proof is not None and not proof.chain_intact:
        unproven.append("the hash chain does not prove the population complete")
    return Coverage(
        checked=jet.population if applied else 0,
        unit="transactions",
        scope=f"{jet.period.label}: {applied} of {rules.height} rules applied",
        unproven=tuple(unproven),
    )


def run_close_analytics(
    frames: LedgerFrames,
    period: Period,
    params: JetParams | None = None,
    chain: CheckResult | None = None,
    *,
    mapping: GlMapping | None = None,
    flux_explanations: pl.DataFrame | None = None,
    explanations_source: str | None = None,
    rolled: RolledForward | None = None,
) -> CloseAnalytics:
    """Run the JET pack over ``period`` and the ledger-native analytics at its end.

    ``chain``: the audit stage's chain result, which states the population's completeness
    (verified once per close, against the earlier checkpoints too). ``mapping``: the
    close's GL mapping, for the flux review, with the reviewer's ``flux_explanations``
    (read from ``explanations_source``). ``rolled``: the close's roll-forward of these
    frames (``flux_section.close_roll_periods``), which JET completeness and the flux review
    read instead of replaying the months again.
    """
    end = period.end_ns - 1
    # inside a close's spill area each result leaves the heap before the next is made (at
    # 1M the JET findings and the idempotency classes held 0.4 GiB through the rest)
    jet = spilled_record(run_jet(frames, period, params, chain=chain, rolled=rolled))
    idempotency = spilled_record(classify_idempotency(frames))
    pending = spilled_record(
        pending_lifecycle(frames, PendingParams(as_of_ns=end, period_end_ns=end))
    )
    reversals = spilled_record(reversal_intelligence(frames, period_end_ns=end))
    benford = run_close_benford(frames, period)
    flux = (
        None
        if mapping is None
        else spilled_record(
            run_close_flux(
                frames, period, mapping, flux_explanations, explanations_source, rolled=rolled
            )
        )
    )
    return CloseAnalytics(
        period_end_ns=end,
        jet=jet,
        idempotency=idempotency,
        pending=pending,
        reversals=reversals,
        benford=benford,
        flux=flux,
    )
