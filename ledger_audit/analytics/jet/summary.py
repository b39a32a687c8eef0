"""What ``ledger-audit jet`` prints and records: completeness first, then the rule counts."""

from __future__ import annotations

from ledger_audit.analytics.jet.engine import JetResult


def render_jet(result: JetResult) -> str:
    """The text summary: the population's completeness, then one line per rule."""
    lines = [f"Journal-entry testing, period {result.period.label}", "", "Population:"]
    proof = result.completeness
    statements = proof.statements if proof is not None else ("completeness not checked",)
    lines.extend(f"- {s}" for s in statements)
    lines += ["", f"Rules over {result.population:,} transactions:"]
    for row in result.coverage.iter_rows(named=True):
        state = f"{row['flagged']:>6} flagged" if row["status"] == "applied" else "     -"
        note = f"  ({row['note']})" if row["note"] else ""
        lines.append(f"  {row['code']}  {row['rule']:<31} {state}{note}")
    bands = result.scores["band"].value_counts(sort=True) if result.scores.height else None
    counts = dict(bands.iter_rows()) if bands is not None else {}
    lines += [
        "",
        (
            f"Scored transactions: {result.scores.height:,} (high {counts.get('high', 0)}, "
            f"medium {counts.get('medium', 0)}, low {counts.get('low', 0)})"
        ),
    ]
    return "\n".join(lines) + "\n"


def jet_manifest(result: JetResult, source: str) -> dict[str, object]:
    """Parameters (weights included), completeness and coverage for ``jet_run.json``."""
    return {
        "source": source,
        "period": result.period.label,
        "population": result.population,
        "completeness": result.completeness.to_json() if result.completeness else None,
        "parameters": result.params.to_json(),
        "coverage": result.coverage.to_dicts(),
        "score": "sum(w*s)/sum(w) over triggered rules; s by severity; bands 0.3 and 0.6",
    }
