"""The rule-based matching stages (DESIGN.md section 7), each on what the previous left open.

Every stage takes the open ledger items (``i``) and open records (``x``) of
``normalise.WorkFrames`` and returns a :class:`Found`: its matches (a group id, the rule,
the score, ``auto`` or ``suggested``) and the links of each match to its members. Ties are
broken by ``i`` and ``x`` (the total order of the inputs), never by row order.

- ``key`` (stage 1): a ledger reference equals a record reference (normalised), same bank
  account, asset and signed amount; mutual nearest in date. Automatic, score 1.
- ``group`` (stage 4): items and records that carry the same batch key (payout id, batch
  key, a ``;``-joined end-to-end list...) on the same account and asset and whose sums are
  equal; a member of two such groups waits. Automatic, score 1.
- ``exact`` (stage 2): same account, asset and signed amount inside the item's rail window,
  and the only candidate both ways. Automatic, score 1.
- ``scored`` (stage 3): candidates within the amount tolerance and the window (a band join),
  scored; mutual best pairs at or above ``suggest`` are kept, automatic when at or above
  ``auto`` with ``margin`` over every rival of either member.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.reconcile.normalise import (
    GROUP_EXTERNAL,
    GROUP_INTERNAL,
    STRONG_EXTERNAL,
    STRONG_INTERNAL,
    TOKEN_EXTERNAL,
    TOKEN_INTERNAL,
    references,
    tokens,
)
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources.match_rules import MatchRules

MATCH_ROWS: dict[str, pl.DataType] = {
    "gid": pl.Int64(),
    "rule": pl.String(),
    "score": pl.Float64(),
    "status": pl.String(),
}
LINK_ROWS: dict[str, pl.DataType] = {"gid": pl.Int64(), "side": pl.String(), "idx": pl.Int64()}

AUTO, SUGGESTED = "auto", "suggested"
MAX_ROUNDS = 32
"""Mutual-best rounds per stage; each round settles at least the best remaining pair."""


@dataclass(frozen=True, slots=True, eq=False)
class Found:
    """What one stage matched.

    Attributes:
        matches: MATCH_ROWS: one row per match; ``gid`` is unique within the stage.
        links: LINK_ROWS: ``side`` is ``internal`` (``idx`` = i) or ``external`` (x).
    """

    matches: pl.DataFrame
    links: pl.DataFrame

    @classmethod
    def none(cls) -> Found:
        """Nothing matched."""
        return cls(pl.DataFrame(schema=MATCH_ROWS), pl.DataFrame(schema=LINK_ROWS))

    @classmethod
    def of_pairs(cls, pairs: pl.DataFrame) -> Found:
        """One-to-one matches from (i, x, rule, score, status) rows; the gid is ``i``."""
        matches = pairs.select(
            pl.col("i").alias("gid"), "rule", pl.col("score").cast(pl.Float64()), "status"
        )
        links = pl.concat(
            [
                pairs.select(
                    pl.col("i").alias("gid"),
                    pl.lit("internal").alias("side"),
                    pl.col("i").alias("idx"),
                ),
                pairs.select(
                    pl.col("i").alias("gid"),
                    pl.lit("external").alias("side"),
                    pl.col("x").alias("idx"),
                ),
            ]
        )
        return cls(matches.cast(pl.Schema(MATCH_ROWS)).sort("gid"), link_rows(links))


def link_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """LINK_ROWS from (gid, side, idx-like) columns, in (gid, side, idx) order."""
    return frame.select(
        pl.col("gid").cast(pl.Int64()),
        pl.col("side").cast(pl.String()),
        pl.col(frame.columns[2]).cast(pl.Int64()).alias("idx"),
    ).sort("gid", "side", "idx")


def mutual_best(
    pairs: pl.DataFrame, by: list[str], descending: list[bool], rounds: int = MAX_ROUNDS
) -> pl.DataFrame:
    """The pairs each of whose members is the other's best, in rounds until none is left.

    ``pairs`` holds ``i``, ``x`` and the ranking columns ``by``; ties go to the smaller id.
    A round takes every mutual best pair and drops every pair touching its members.
    ``rounds`` caps the rounds (another engine that ran some hands over what is left).
    """
    chosen: list[pl.DataFrame] = []
    order = [*by, "i", "x"]
    flags = [*descending, False, False]
    live = pairs
    for _ in range(rounds):
        if not live.height:
            break
        ordered = live.sort(order, descending=flags)
        best_i = ordered.unique("i", keep="first", maintain_order=True).select("i", "x")
        best_x = ordered.unique("x", keep="first", maintain_order=True).select("i", "x")
        both = best_i.join(best_x, on=["i", "x"], how="semi").sort("i")
        if not both.height:
            break
        chosen.append(live.join(both, on=["i", "x"], how="semi"))
        live = live.filter(
            ~pl.col("i").is_in(both["i"].implode()) & ~pl.col("x").is_in(both["x"].implode())
        )
    if not chosen:
        return pairs.clear()
    return pl.concat(chosen).sort("i")


def key_stage(internal: pl.DataFrame, external: pl.DataFrame) -> Found:
    """Stage 1: a shared reference, same account, asset and signed amount (see module doc)."""
    left = references(internal, "i", STRONG_INTERNAL, split=False)
    right = references(external, "x", STRONG_EXTERNAL, split=True)
    joined = left.join(right, on=["account_ref", "asset_id", "amount", "ref"], how="inner")
    if not joined.height:
        return Found.none()
    pairs = (
        joined.with_columns(
            (pl.col("priority") * len(STRONG_EXTERNAL) + pl.col("priority_right")).alias("rank"),
            pl.concat_str(
                pl.lit("key:"), pl.col("column"), pl.lit("="), pl.col("column_right")
            ).alias("rule"),
        )
        .sort("i", "x", "rank")
        .unique(["i", "x"], keep="first", maintain_order=True)
        .join(internal.select("i", "days"), on="i")
        .join(external.select("x", pl.col("days").alias("x_days")), on="x")
        .with_columns((pl.col("x_days") - pl.col("days")).abs().alias("distance"))
    )
    best = mutual_best(pairs, ["rank", "distance"], [False, False])
    return Found.of_pairs(
        best.with_columns(pl.lit(1.0).alias("score"), pl.lit(AUTO).alias("status"))
    )


def group_stage(internal: pl.DataFrame, external: pl.DataFrame) -> Found:
    """Stage 4: many-to-one and one-to-many by a shared batch key with equal sums."""
    left = references(internal, "i", GROUP_INTERNAL, split=False)
    right = references(external, "x", GROUP_EXTERNAL, split=True)
    key = ["account_ref", "asset_id", "ref"]
    matches: list[pl.DataFrame] = []
    links: list[pl.DataFrame] = []
    taken_i: list[int] = []
    taken_x: list[int] = []
    for _ in range(MAX_ROUNDS):
        left = left.filter(~pl.col("i").is_in(taken_i))
        right = right.filter(~pl.col("x").is_in(taken_x))
        sides = (
            left.group_by(key).agg(
                pl.col("amount").cast(WIDE_AMOUNT).sum().alias("sum_i"),  # exact: never wraps
                pl.len().alias("n_i"),
                pl.col("priority").min().alias("p_i"),
            )
        ).join(
            right.group_by(key).agg(
                pl.col("amount").cast(WIDE_AMOUNT).sum().alias("sum_x"),
                pl.len().alias("n_x"),
                pl.col("priority").min().alias("p_x"),
            ),
            on=key,
            how="inner",
        )
        valid = sides.filter(
            (pl.col("sum_i") == pl.col("sum_x")) & (pl.col("n_i") + pl.col("n_x") > 2)  # noqa: PLR2004
        ).sort(key)
        if not valid.height:
            break
        members = pl.concat(
            [
                left.join(valid.select(key), on=key, how="semi").select(
                    *key, pl.lit("internal").alias("side"), pl.col("i").alias("idx")
                ),
                right.join(valid.select(key), on=key, how="semi").select(
                    *key, pl.lit("external").alias("side"), pl.col("x").alias("idx")
                ),
            ]
        )
        base = sum(frame.height for frame in matches)
        accepted, picked = settle_groups(valid, members, base)
        if not accepted.height:
            break
        matches.append(accepted)
        links.append(picked)
        taken_i.extend(picked.filter(pl.col("side") == "internal")["idx"].to_list())
        taken_x.extend(picked.filter(pl.col("side") == "external")["idx"].to_list())
    if not matches:
        return Found.none()
    return Found(
        pl.concat(matches).cast(pl.Schema(MATCH_ROWS)).sort("gid"), link_rows(pl.concat(links))
    )


def settle_groups(
    valid: pl.DataFrame, members: pl.DataFrame, base: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One round of stage 4: the valid groups none of whose members is in another one.

    ``valid``: (account_ref, asset_id, ref, p_i, p_x) of the groups whose sums agree;
    ``members``: (account_ref, asset_id, ref, side, idx) of their members. Returns the
    accepted groups' MATCH_ROWS, numbered from ``base`` in key order, and their links
    (gid, side, idx). Both engines settle a round here.
    """
    key = ["account_ref", "asset_id", "ref"]
    clash = members.group_by("side", "idx").len().filter(pl.col("len") > 1)
    blocked = members.join(clash, on=["side", "idx"], how="semi").select(key).unique()
    accepted = (
        valid.join(blocked, on=key, how="anti")
        .sort(key)
        .with_row_index("gid", offset=base)
        .with_columns(pl.col("gid").cast(pl.Int64()))
    )
    picked = members.join(accepted.select(*key, "gid"), on=key, how="inner")
    rows = accepted.select(
        "gid",
        pl.concat_str(
            pl.lit("group:"),
            pl.col("p_i").replace_strict(dict(enumerate(GROUP_INTERNAL))),
            pl.lit("="),
            pl.col("p_x").replace_strict(dict(enumerate(GROUP_EXTERNAL))),
        ).alias("rule"),
        pl.lit(1.0).alias("score"),
        pl.lit(AUTO).alias("status"),
    )
    return rows, picked.select("gid", "side", "idx")


def _window(days_x: pl.Expr, days_i: pl.Expr) -> pl.Expr:
    """The record's day lies in the item's rail window."""
    gap = days_x - days_i
    return (gap >= -pl.col("days_before")) & (gap <= pl.col("days_after"))


def exact_stage(internal: pl.DataFrame, external: pl.DataFrame) -> Found:
    """Stage 2: exact signed amount in the rail window, the only candidate both ways."""
    pairs = (
        internal.select(
            "i", "account_ref", "asset_id", "amount", "days", "days_before", "days_after", "rail"
        )
        .join(
            external.select(
                "x", "account_ref", "asset_id", "amount", pl.col("days").alias("x_days")
            ),
            on=["account_ref", "asset_id", "amount"],
            how="inner",
        )
        .filter(_window(pl.col("x_days"), pl.col("days")))
    )
    unique = pairs.filter((pl.len().over("i") == 1) & (pl.len().over("x") == 1)).sort("i")
    return Found.of_pairs(
        unique.select(
            "i",
            "x",
            pl.concat_str(pl.lit("exact:"), pl.col("rail")).alias("rule"),
            pl.lit(1.0).alias("score"),
            pl.lit(AUTO).alias("status"),
        )
    )


def _pow2(level: pl.Expr) -> pl.Expr:
    return pl.lit(2.0).pow(level).cast(pl.Int64())


def candidates(internal: pl.DataFrame, external: pl.DataFrame, rules: MatchRules) -> pl.DataFrame:
    """(i, x, difference, gap, tolerance) of pairs within the tolerance and the rail window.

    A band join without a cross product: amounts are bucketed at a power-of-two width no
    smaller than the tolerance (an item looks in its bucket and both neighbours; a record
    files itself at the widths of its own level and the two next to it, since an amount
    within the tolerance has a level at most one apart when the relative tolerance is at
    most 0.25), and days are bucketed at the widest window's span.
    """
    absolute, relative = rules.tolerance.absolute, rules.tolerance.relative
    before, after = rules.widest_window
    span = before + after + 1

    def tolerance(amount: pl.Expr) -> pl.Expr:
        scaled = (amount.abs().cast(pl.Float64()) * relative).floor().cast(pl.Int64())
        return pl.max_horizontal(pl.lit(absolute, dtype=pl.Int64()), scaled)

    def level(tol: pl.Expr) -> pl.Expr:
        return pl.max_horizontal(tol, pl.lit(1)).cast(pl.Float64()).log(2).ceil().cast(pl.Int64())

    key = ["account_ref", "asset_id", "sign", "level", "bucket", "day_bucket"]
    left = (
        internal.select(
            "i",
            "account_ref",
            "asset_id",
            "sign",
            "amount",
            "days",
            "days_before",
            "days_after",
            "rail",
        )
        .with_columns(tolerance(pl.col("amount")).alias("tolerance"))
        .with_columns(level(pl.col("tolerance")).alias("level"))
        .with_columns(
            (pl.col("amount").abs() // _pow2(pl.col("level"))).alias("_b"),
            pl.int_ranges(
                (pl.col("days") - before) // span, (pl.col("days") + after) // span + 1
            ).alias("day_bucket"),
        )
        .with_columns(pl.int_ranges(pl.col("_b") - 1, pl.col("_b") + 2).alias("bucket"))
        .explode("bucket")
        .explode("day_bucket")
    )
    right = (
        external.select(
            "x",
            "account_ref",
            "asset_id",
            "sign",
            pl.col("amount").alias("x_amount"),
            pl.col("days").alias("x_days"),
        )
        .with_columns(level(tolerance(pl.col("x_amount"))).alias("_level"))
        .with_columns(
            pl.int_ranges(
                pl.max_horizontal(pl.col("_level") - 1, pl.lit(0)), pl.col("_level") + 2
            ).alias("level"),
            (pl.col("x_days") // span).alias("day_bucket"),
        )
        .explode("level")
        .with_columns((pl.col("x_amount").abs() // _pow2(pl.col("level"))).alias("bucket"))
    )
    joined = left.with_columns(pl.col("day_bucket").cast(pl.Int64())).join(
        right.with_columns(pl.col("day_bucket").cast(pl.Int64()), pl.col("level").cast(pl.Int64())),
        on=key,
        how="inner",
    )
    return (
        joined.with_columns(
            (pl.col("x_amount") - pl.col("amount")).alias("difference"),
            (pl.col("x_days") - pl.col("days")).alias("gap"),
        )
        .filter(
            (pl.col("difference").abs() <= pl.col("tolerance"))
            & _window(pl.col("x_days"), pl.col("days"))
        )
        .select("i", "x", "difference", "gap", "tolerance", "days_before", "days_after", "rail")
        .unique(["i", "x"])
        .sort("i", "x")
    )


def scores(
    pairs: pl.DataFrame, internal: pl.DataFrame, external: pl.DataFrame, rules: MatchRules
) -> pl.DataFrame:
    """``pairs`` with ``score`` in [0, 1]: the weighted amount, date and reference parts."""
    weights = rules.weights
    total = weights.amount + weights.date + weights.reference
    left = tokens(
        internal.join(pairs.select("i").unique(), on="i", how="semi"), "i", TOKEN_INTERNAL
    )
    right = tokens(
        external.join(pairs.select("x").unique(), on="x", how="semi"), "x", TOKEN_EXTERNAL
    )
    shared = (
        pairs.select("i", "x")
        .join(left, on="i", how="inner")
        .join(right, on=["x", "token"], how="semi")
        .group_by("i", "x")
        .len("shared")
    )
    fewer = pl.min_horizontal(pl.col("n_i"), pl.col("n_x"))
    side = pl.when(pl.col("gap") < 0).then(pl.col("days_before")).otherwise(pl.col("days_after"))
    amount_part = 1 - pl.col("difference").abs().cast(pl.Float64()) / (pl.col("tolerance") + 1)
    date_part = 1 - pl.col("gap").abs().cast(pl.Float64()) / (side + 1)
    ref_part = pl.when(fewer > 0).then(pl.col("shared") / fewer).otherwise(0.0)
    return (
        pairs.join(shared, on=["i", "x"], how="left")
        .join(left.group_by("i").len("n_i"), on="i", how="left")
        .join(right.group_by("x").len("n_x"), on="x", how="left")
        .with_columns(pl.col("shared", "n_i", "n_x").fill_null(0))
        .with_columns(
            (
                (
                    weights.amount * amount_part
                    + weights.date * date_part
                    + weights.reference * ref_part
                )
                / total
            )
            .round(6)
            .alias("score")
        )
        .sort("i", "x")
    )


def scored_stage(internal: pl.DataFrame, external: pl.DataFrame, rules: MatchRules) -> Found:
    """Stage 3: mutual best scored pairs; automatic only with a clear lead (module doc)."""
    pairs = candidates(internal, external, rules)
    if not pairs.height:
        return Found.none()
    scored = scores(pairs, internal, external, rules)
    limits = rules.thresholds
    chosen: list[pl.DataFrame] = []
    live = scored
    for _ in range(MAX_ROUNDS):
        eligible = live.filter(pl.col("score") >= limits.suggest)
        best = mutual_best(eligible.select("i", "x", "score"), ["score"], [True])
        if not best.height:
            break
        rival_i = _second(live, "i")
        rival_x = _second(live, "x")
        decided = (
            best.join(rival_i, on="i", how="left")
            .join(rival_x, on="x", how="left")
            .join(live.select("i", "x", "rail"), on=["i", "x"], how="left")
            .with_columns(
                pl.max_horizontal(pl.col("second_i"), pl.col("second_x"), pl.lit(0.0)).alias(
                    "rival"
                )
            )
            .with_columns(
                pl.when(
                    (pl.col("score") >= limits.auto)
                    & (pl.col("score") - pl.col("rival") >= limits.margin - 1e-9)
                )
                .then(pl.lit(AUTO))
                .otherwise(pl.lit(SUGGESTED))
                .alias("status"),
                pl.concat_str(pl.lit("scored:"), pl.col("rail")).alias("rule"),
            )
        )
        chosen.append(decided.select("i", "x", "rule", "score", "status"))
        live = live.filter(
            ~pl.col("i").is_in(best["i"].implode()) & ~pl.col("x").is_in(best["x"].implode())
        )
    if not chosen:
        return Found.none()
    return Found.of_pairs(pl.concat(chosen).sort("i"))


def _second(pairs: pl.DataFrame, side: str) -> pl.DataFrame:
    """Per member of ``side``, the second-best score among its candidates (null if one)."""
    return (
        pairs.select(side, "score")
        .filter(pl.col("score").rank("ordinal", descending=True).over(side) == 2)  # noqa: PLR2004
        .group_by(side)
        .agg(pl.col("score").max().alias(f"second_{side}"))
    )
