"""JE-18, JE-20 and JE-21: descriptions, numbering gaps and outlying amounts."""

from __future__ import annotations

import polars as pl

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.analytics.jet.flags import (
    RuleOutcome,
    amount_text,
    flag,
    not_applicable,
    one_per_transaction,
)
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.analytics.jet.population import (
    Population,
    code,
    locate,
    run_number,
    stable_sort,
)

_BP = 10_000
_MAD_SCALE = 0.6745  # robust z = 0.6745 (x - median) / MAD (Iglewicz and Hoaglin)


def suspicious_description(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-18: a description shorter than L characters (blank included) or holding a keyword."""
    text = pl.col("description").fill_null("").str.strip_chars()
    short = text.str.len_chars() < params.description_min
    keywords = list(params.keywords)
    if keywords:
        hit = text.str.contains_any(keywords, ascii_case_insensitive=True)
        matched = (
            text.str.to_lowercase().str.extract_many(keywords).list.unique(maintain_order=True)
        )
    else:
        hit, matched = pl.lit(value=False), pl.lit([], dtype=pl.List(pl.String()))
    rows = pop.transactions.filter(short | hit).with_columns(
        matched.list.join(", ").alias("keywords")
    )
    return flag(
        rows,
        JetRule.DESCRIPTION,
        message=pl.when(short)
        .then(pl.lit(f"description blank or shorter than {params.description_min} characters"))
        .otherwise(pl.concat_str(pl.lit("description holds "), pl.col("keywords"))),
        expected=pl.lit("a meaningful description"),
        actual=pl.concat_str(pl.lit("'"), text.str.slice(0, 60), pl.lit("'")),
    )


def sequence_gaps(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-20: numbers missing from the chain sequence before a version of the period."""
    seqs = pop.versions.filter(pl.col("chain_seq").is_not_null())
    if seqs.select(pl.len()).collect().item() == 0:
        return not_applicable(JetRule.SEQUENCE_GAP, "no sequence numbers (unchained ledger)")
    # versions are in key order: number each ledger's run so no text is sorted
    ordered = (
        seqs.with_columns(run_number("ledger_id").alias("ledger"))
        .pipe(stable_sort, ["ledger", "chain_seq"])
        .lazy()
        .with_columns(
            pl.when(pl.col("ledger") == pl.col("ledger").shift(1))
            .then(pl.col("chain_seq").shift(1))
            .alias("previous_seq")
        )
    )
    missing = pl.col("chain_seq") - pl.col("previous_seq") - 1
    rows = ordered.filter(pl.col("previous_seq").is_not_null() & (missing >= params.gap_min)).join(
        pop.transactions.select("tx"), on="tx", how="semi"
    )
    return flag(
        rows,
        JetRule.SEQUENCE_GAP,
        message=pl.concat_str(
            missing.cast(pl.String()), pl.lit(" sequence number(s) missing before this version")
        ),
        expected=pl.concat_str(pl.lit("seq "), (pl.col("previous_seq") + 1).cast(pl.String())),
        actual=pl.concat_str(pl.lit("seq "), pl.col("chain_seq").cast(pl.String())),
        note="sequence: chain_seq",
    )


def outliers(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-21: a high-value or outlying debit leg.

    In the top x % of its asset's amounts (and above their median, so equal amounts are no
    "top"), or with a per-account robust z (MAD-based)
    above z*.
    """
    # grouped by codes, not by text: (ledger, asset) and (ledger, account) as UInt64
    asset, account = pl.col("_asset"), pl.col("_account")
    legs = pop.legs.filter(pl.col("direction") == "debit").with_columns(
        code(pl.col("ledger_id"), pl.col("asset_id")).alias("_asset"),
        code(pl.col("ledger_id"), pl.col("account_id")).alias("_account"),
    )
    n = pl.len().over(asset)
    cutoff = (n * params.outlier_top_bp + _BP - 1) // _BP  # ceil(n * x)
    value = pl.col("amount").cast(pl.Float64())  # a statistic, not money
    median = pl.col("_median")
    mad = (value - median).abs().median().over(account, asset)
    z = pl.when(mad > 0).then(_MAD_SCALE * (value - median) / mad)
    above = value > value.median().over(asset)  # ties are no "top"
    rows = (
        legs.with_columns(value.median().over(account, asset).alias("_median"))
        .with_columns(
            pl.col("amount").rank("min", descending=True).over(asset).alias("rank"),
            above.alias("above"),
            cutoff.alias("cutoff"),
            z.alias("z"),
        )
        .filter(
            ((pl.col("rank") <= pl.col("cutoff")) & pl.col("above"))
            | (pl.col("z") > params.outlier_z)
        )
    )
    return flag(
        locate(pop, one_per_transaction(rows, in_leg_order=pop.legs_in_order)),
        JetRule.OUTLIER,
        message=pl.when((pl.col("rank") <= pl.col("cutoff")) & pl.col("above"))
        .then(pl.lit(f"among the top {params.outlier_top_bp / 100:g} % of amounts in its asset"))
        .otherwise(pl.lit("an outlier for its account")),
        expected=pl.lit(f"robust z <= {params.outlier_z} and outside the top share"),
        actual=pl.concat_str(
            amount_text(),
            pl.lit(", rank "),
            pl.col("rank").cast(pl.String()),
            pl.lit(", robust z "),
            pl.coalesce(pl.col("z").round(2).cast(pl.String()), pl.lit("-")),
        ),
    )
