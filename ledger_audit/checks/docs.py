"""The catalogue as Markdown (``docs/checks.md`` is this text; a test keeps them equal)."""

from __future__ import annotations

from ledger_audit.checks.catalogue import CATALOGUE, RULES


def catalogue_markdown() -> str:
    """Checks in run order, then every rule with its severity and meaning."""
    lines = [
        "# Checks and rules",
        "",
        (
            "Generated from `ledger_audit/checks/catalogue.py` "
            "(`python -c 'from ledger_audit.checks.docs import catalogue_markdown as m; "
            'print(m(), end="")\' > docs/checks.md`).'
        ),
        "",
        (
            "`ledger-audit verify` runs every check below in this order, plus `load` (each source "
            "row the reader could not load is a `source.rejected_row` finding). A check that "
            "crashes becomes one `check.crashed` finding; the others still run. The same rule at "
            "the same place found by two checks is reported once, naming both."
        ),
        "",
        "| order | check | tier | what it verifies | rules |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {n} | `{c.name}` | {c.tier} | {c.doc} | {', '.join(f'`{r}`' for r in c.rules)} |"
        for n, c in enumerate(CATALOGUE, start=1)
    ]
    lines += ["", "| rule | severity | meaning |", "|---|---|---|"]
    lines += [f"| `{r.id}` | {r.severity} | {r.doc} |" for r in RULES.values()]
    return "\n".join(lines) + "\n"
