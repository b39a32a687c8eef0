"""The composite risk score: transparent, MindBridge-style, every contribution listed.

For each transaction, s_i is the strength of rule i's strongest flag on it (by severity,
:data:`~ledger_audit.analytics.jet.catalogue.STRENGTH`) and w_i the rule's weight from the
parameters; score = sum(w_i * s_i) / sum(w_i) over the triggered rules (ANALYTICS.md 3.3),
banded low < 0.3 <= medium < 0.6 <= high. ``contributions`` names each rule with w and s.

The sums are taken in integers (w in billionths, s in thousandths) and divided once: a
float sum depends on the order polars' threads add the rows in, which moved a score by one
bit between runs and a transaction past its ties in the ranking.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.analytics.jet.catalogue import STRENGTH
from ledger_audit.analytics.jet.params import JetParams

LOW_BELOW = 0.3
HIGH_FROM = 0.6
_W_UNITS = 10**9
"""A weight's integer units (billionths): the rules file's weights are kept to nine places."""
_S_UNITS = 10**3
"""A strength's integer units (thousandths): every :data:`STRENGTH` is exact in them."""

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
    strength = {str(k): round(v * _S_UNITS) for k, v in STRENGTH.items()}
    weights = pl.DataFrame(
        {
            "rule": [str(r) for r, _ in params.weights],
            "weight": [w for _, w in params.weights],
            "w_units": [round(w * _W_UNITS) for _, w in params.weights],
        },
        schema={"rule": pl.String(), "weight": pl.Float64(), "w_units": pl.Int128()},
    )
    per_rule = (
        findings.lazy()
        .with_columns(
            pl.col("severity").replace_strict(strength, return_dtype=pl.Int128()).alias("s_units")
        )
        .group_by("ledger_id", "transaction_id", "rule")
        .agg(pl.col("s_units").max(), pl.col("chain_seq").min())
        .join(weights.lazy(), on="rule", how="left")
        .with_columns((pl.col("s_units").cast(pl.Float64()) / _S_UNITS).alias("s"))
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
    weight_sum = pl.col("w_units").sum()
    weighted = (pl.col("w_units") * pl.col("s_units")).sum().cast(pl.Float64())
    score = pl.when(weight_sum > 0).then(weighted / (weight_sum.cast(pl.Float64()) * _S_UNITS))
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
