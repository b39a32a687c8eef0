"""The composite risk score: transparent, MindBridge-style, every contribution listed.

For each transaction, s_i is the strength of rule i's strongest flag on it (by severity,
:data:`~ledger_audit.analytics.jet.catalogue.STRENGTH`) and w_i the rule's weight from the
parameters; score = sum(w_i * s_i) / sum(w_i) over the triggered rules (ANALYTICS.md 3.3),
banded low < 0.3 <= medium < 0.6 <= high. ``contributions`` names each rule with w and s.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.analytics.jet.catalogue import STRENGTH
from ledger_audit.analytics.jet.params import JetParams

LOW_BELOW = 0.3
HIGH_FROM = 0.6

SCORES_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "transaction_id": pl.String(),
    "chain_seq": pl.Int64(),
    "score": pl.Float64(),
    "band": pl.String(),
    "rules": pl.UInt32(),
    "contributions": pl.String(),
}


def score_transactions(findings: pl.DataFrame, params: JetParams) -> pl.DataFrame:
    """One row per flagged transaction, highest score first (ties by ledger and id)."""
    strength = {str(k): v for k, v in STRENGTH.items()}
    weights = pl.DataFrame(
        {"rule": [str(r) for r, _ in params.weights], "weight": [w for _, w in params.weights]},
        schema={"rule": pl.String(), "weight": pl.Float64()},
    )
    per_rule = (
        findings.lazy()
        .with_columns(
            pl.col("severity").replace_strict(strength, return_dtype=pl.Float64()).alias("s")
        )
        .group_by("ledger_id", "transaction_id", "rule")
        .agg(pl.col("s").max(), pl.col("chain_seq").min())
        .join(weights.lazy(), on="rule", how="left")
        .sort("ledger_id", "transaction_id", "rule")
    )
    part = pl.concat_str(
        pl.col("rule"),
        pl.lit(" (w="),
        pl.col("weight").round(3).cast(pl.String()),
        pl.lit(", s="),
        pl.col("s").round(3).cast(pl.String()),
        pl.lit(")"),
    )
    weight_sum = pl.col("weight").sum()
    score = pl.when(weight_sum > 0).then((pl.col("weight") * pl.col("s")).sum() / weight_sum)
    scored = (
        per_rule.group_by("ledger_id", "transaction_id", maintain_order=True)
        .agg(
            pl.col("chain_seq").min(),
            score.fill_null(0.0).alias("score"),
            pl.len().cast(pl.UInt32()).alias("rules"),
            part.str.join("; ").alias("contributions"),
        )
        .with_columns(
            pl.when(pl.col("score") >= HIGH_FROM)
            .then(pl.lit("high"))
            .when(pl.col("score") >= LOW_BELOW)
            .then(pl.lit("medium"))
            .otherwise(pl.lit("low"))
            .alias("band")
        )
        .select(list(SCORES_SCHEMA))
        .sort(["score", "ledger_id", "transaction_id"], descending=[True, False, False])
        .collect()
    )
    return scored.cast(SCORES_SCHEMA)  # type: ignore[arg-type]
