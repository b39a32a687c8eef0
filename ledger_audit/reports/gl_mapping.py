"""Apply a GL mapping to ledger accounts, vectorised: first matching rule wins, else suspense.

The mapping record and its file format live in ``ledger_audit.sources.gl_mapping``. The rules
become one ``when/then`` chain of anchored regular expressions evaluated once per distinct
account, then joined back, so the cost does not grow with Python loops over rows.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.sources.gl_mapping import GlMapping


def matching_rule(mapping: GlMapping, account: pl.Expr) -> pl.Expr:
    """The index of the first rule whose pattern matches ``account`` (Int32; null if none)."""
    picked: pl.Expr = pl.lit(None, dtype=pl.Int32())
    for index, rule in reversed(list(enumerate(mapping.rules))):
        picked = (
            pl.when(account.str.contains(rule.regex))
            .then(pl.lit(index, dtype=pl.Int32()))
            .otherwise(picked)
        )
    return picked


def apply_mapping(rows: pl.LazyFrame, mapping: GlMapping) -> pl.LazyFrame:
    """``rows`` (with ``account_id``) plus rule_index, pattern, gl_account and the dimensions.

    Unmatched accounts get a null ``rule_index`` and the suspense GL account. The rules are
    evaluated once per distinct account, then joined back.
    """
    accounts = (
        rows.select("account_id")
        .unique()
        .with_columns(matching_rule(mapping, pl.col("account_id")).alias("rule_index"))
        .join(
            mapping.rule_frame().lazy(),
            on="rule_index",
            how="left",
            nulls_equal=True,  # unmatched accounts join the suspense row
        )
    )
    return rows.join(accounts, on="account_id", how="left")
