"""Rule preview: what a change to the matching rules would match, lose or leave open.

An auditor tuning a date window or a threshold wants to see its effect before editing the
rules file. ``preview_rules`` reconciles the same items and records under both rule sets
and compares, per ledger item and per bank record, how each ended:

- ``new``: matched (auto or suggested) under the changed rules, a break before;
- ``lost``: matched before, a break under the changed rules;
- ``changed``: matched under both, but to other counterparts or with another status;
- ``still unmatched``: a break under both.

Items that end the same way under both (same status, same counterparts) are left out of
``changes``; ``summary`` counts every outcome, those ``unchanged`` included, per side.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from ledger_audit.reconcile.match import Reconciliation, reconcile
from ledger_audit.sources.match_rules import MatchRules

OUTCOMES = ("new", "lost", "changed", "still unmatched", "unchanged")
"""Every outcome, in the order the summary lists them."""

CHANGE_SCHEMA: dict[str, pl.DataType] = {
    "outcome": pl.String(),
    "side": pl.String(),
    "item_id": pl.String(),
    "file": pl.String(),
    "account_ref": pl.String(),
    "account_id": pl.String(),
    "asset_id": pl.String(),
    "amount": pl.Int64(),
    "date": pl.Date(),
    "before": pl.String(),
    "after": pl.String(),
    "before_with": pl.String(),
    "after_with": pl.String(),
}
"""Columns of ``RulePreview.changes``: ``before``/``after`` is ``auto``/``suggested`` with
the stage (``auto 1 key``) or the break class; ``*_with`` the counterparts, ``;``-joined;
``account_id`` the ledger account (a record's from the baseline rules' mapping, null when
they do not map its account)."""

_KEY = ("side", "item_id", "file")


@dataclass(frozen=True, slots=True, eq=False)
class RulePreview:
    """Two reconciliations of the same inputs and how their outcomes differ.

    Attributes:
        before: under the baseline rules.
        after: under the changed rules.
        changes: CHANGE_SCHEMA, one row per item or record whose outcome differs or that
            stays unmatched, sorted by outcome, side, account, date, item.
        summary: (outcome, side, count) for every outcome, ``unchanged`` included.
    """

    before: Reconciliation
    after: Reconciliation
    changes: pl.DataFrame
    summary: pl.DataFrame


def preview_rules(
    items: pl.DataFrame,
    records: pl.DataFrame,
    before: MatchRules,
    after: MatchRules,
    *,
    as_of: dt.date,
) -> RulePreview:
    """Reconcile ``items`` against ``records`` under both rule sets and compare."""
    first = reconcile(items, records, before, as_of=as_of)
    second = reconcile(items, records, after, as_of=as_of)
    old, new = _outcomes(first), _outcomes(second)
    both = old.join(
        new, on=list(_KEY), how="full", coalesce=True, suffix="_after", nulls_equal=True
    )
    matched_before = pl.col("matched").fill_null(value=False)
    matched_after = pl.col("matched_after").fill_null(value=False)
    same = (pl.col("state") == pl.col("state_after")) & (
        pl.col("partners").eq_missing(pl.col("partners_after"))
    )
    outcome = (
        pl.when(~matched_before & matched_after)
        .then(pl.lit("new"))
        .when(matched_before & ~matched_after)
        .then(pl.lit("lost"))
        .when(~matched_before & ~matched_after)
        .then(pl.lit("still unmatched"))
        .when(same)
        .then(pl.lit("unchanged"))
        .otherwise(pl.lit("changed"))
    )
    compared = both.with_columns(outcome.alias("outcome")).join(
        _described(items, records, before), on=list(_KEY), how="left", nulls_equal=True
    )
    changes = (
        compared.filter(pl.col("outcome") != "unchanged")
        .select(
            "outcome",
            *_KEY,
            "account_ref",
            "account_id",
            "asset_id",
            "amount",
            "date",
            pl.col("state").alias("before"),
            pl.col("state_after").alias("after"),
            pl.col("partners").alias("before_with"),
            pl.col("partners_after").alias("after_with"),
        )
        .sort(
            pl.col("outcome").replace_strict({o: i for i, o in enumerate(OUTCOMES)}),
            "side",
            "account_ref",
            "date",
            "item_id",
            "file",
            nulls_last=False,
        )
        .cast(pl.Schema(CHANGE_SCHEMA))
    )
    grid = pl.DataFrame(
        [(o, s) for o in OUTCOMES for s in ("internal", "external")],
        schema={"outcome": pl.String(), "side": pl.String()},
        orient="row",
    )
    counts = compared.group_by("outcome", "side").len("count")
    summary = grid.join(counts, on=["outcome", "side"], how="left").with_columns(
        pl.col("count").fill_null(0).cast(pl.Int64())
    )
    return RulePreview(before=first, after=second, changes=changes, summary=summary)


def _outcomes(result: Reconciliation) -> pl.DataFrame:
    """Per item or record: matched?, its state text, its counterparts (sorted, joined)."""
    links = result.links.join(
        result.matches.select("match_id", "status", "stage", "stage_name"), on="match_id"
    )
    counterparts = (
        links.join(links, on="match_id", suffix="_other")  # every pair within a match
        .filter(pl.col("side") != pl.col("side_other"))
        .with_columns(
            pl.when(pl.col("file_other").is_null())
            .then(pl.col("item_id_other"))
            .otherwise(pl.concat_str(pl.col("file_other"), pl.lit("#"), pl.col("item_id_other")))
            .alias("other")
        )
        .group_by(*_KEY)
        .agg(pl.col("other").unique().sort().str.join(";").alias("partners"))
    )
    matched = (
        links.select(
            *_KEY,
            pl.lit(value=True).alias("matched"),
            pl.concat_str(
                pl.col("status"),
                pl.lit(" "),
                pl.col("stage").cast(pl.String()),
                pl.lit(" "),
                pl.col("stage_name"),
            ).alias("state"),
        )
        .unique(subset=list(_KEY), keep="first", maintain_order=True)
        .join(counterparts, on=list(_KEY), how="left", nulls_equal=True)
    )
    broken = result.breaks.select(
        *_KEY,
        pl.lit(value=False).alias("matched"),
        pl.concat_str(pl.lit("break: "), pl.col("class")).alias("state"),
        pl.lit(None, dtype=pl.String()).alias("partners"),
    )
    return pl.concat([matched, broken], how="vertical_relaxed")


def _described(items: pl.DataFrame, records: pl.DataFrame, rules: MatchRules) -> pl.DataFrame:
    """Account, asset, amount and date of every item and record, by their key."""
    mapping = (
        rules.account_frame()
        .select("account_ref", "asset_id", "account_id")
        .unique(subset=["account_ref", "asset_id"], keep="first", maintain_order=True)
    )
    internal = items.select(
        pl.lit("internal").alias("side"),
        "item_id",
        pl.lit(None, dtype=pl.String()).alias("file"),
        "account_ref",
        "account_id",
        "asset_id",
        "amount",
        "date",
    )
    external = records.join(mapping, on=["account_ref", "asset_id"], how="left").select(
        pl.lit("external").alias("side"),
        pl.col("record_id").alias("item_id"),
        "file",
        "account_ref",
        "account_id",
        "asset_id",
        "amount",
        pl.col("booking_date").alias("date"),
    )
    return pl.concat([internal, external], how="vertical_relaxed").unique(
        subset=list(_KEY), keep="first", maintain_order=True
    )
