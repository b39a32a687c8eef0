"""Stage 5: unkeyed batches, by a bounded subset-sum (meet in the middle over a capped pool).

For each open record (the *target*, in ``x`` order) the pool holds the open ledger items on
the same bank account and asset, with the same sign, no larger in magnitude, not zero, in the
item's rail window around the record's day: at most ``pool`` of them, nearest in date first,
then by ``i``. Then the other way round: each open item against a pool of open records in
its own window. The pools are built vectorised and bounded: a target only ever looks at the
``4 x pool`` candidates each side of its day in a sorted array.

The search itself is the one Python loop over rows in the matcher, one iteration per target
with a small capped pool: the pool is split in two halves, every subset sum of each half is
enumerated with numpy (``2^(pool/2)`` each), and the halves are joined by binary search on
the sums; only subsets of 2 to ``max_group`` members count. An item a target took is not in
a later target's pool (targets in id order, so the outcome does not depend on input order).

Outcome per target: no solution, nothing; one solution, a match with rule
``subset:unique`` (``subset:unique_capped`` when the cap left candidates out), score 1;
several, rule ``subset:ambiguous`` with the solution of the smallest member ids, score
1 / solutions (at most ``SOLUTION_LIMIT`` counted). Ambiguous is always only suggested; a
unique solution matches automatically only when the rules say ``auto_unique`` and the pool
was complete (no candidate cut by the cap), since outside a complete pool uniqueness is not
proven.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from ledger_audit.reconcile.stages import AUTO, LINK_ROWS, MATCH_ROWS, SUGGESTED, Found
from ledger_audit.sources.match_rules import MatchRules

SOLUTION_LIMIT = 1000
"""Solutions counted per target at most (degenerate pools of equal amounts)."""

SCAN = 4
"""A target scans SCAN x pool sorted candidates each side of its own day."""

_Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Solutions:
    """What the search found for one target.

    Attributes:
        count: solutions found (capped at SOLUTION_LIMIT).
        first: positions in the pool of the members of the solution with the smallest
            member ids (empty when none).
    """

    count: int
    first: tuple[int, ...]


def _half(amounts: _Ints) -> tuple[_Ints, _Ints, _Ints]:
    """(sums, sizes, masks) of every subset of ``amounts``."""
    width = amounts.shape[0]
    masks = np.arange(1 << width, dtype=np.int64)
    bits = (masks[:, None] >> np.arange(width, dtype=np.int64)) & 1
    return bits @ amounts, bits.sum(axis=1), masks


def solve(amounts: _Ints, ids: _Ints, target: int, max_group: int) -> Solutions:
    """Subsets of 2..max_group of ``amounts`` that sum to ``target`` (meet in the middle).

    The halves' sums are int64 and may wrap; each hit is checked with exact integers.

    ``ids`` (same length) only decide which solution is reported first.
    """
    count = amounts.shape[0]
    half = count // 2
    sums_a, sizes_a, masks_a = _half(amounts[:half])
    sums_b, sizes_b, masks_b = _half(amounts[half:])
    order = np.argsort(sums_b, kind="stable")
    sorted_b = sums_b[order]
    need = target - sums_a
    low = np.searchsorted(sorted_b, need, side="left")
    high = np.searchsorted(sorted_b, need, side="right")
    hits = np.nonzero(high > low)[0]
    found: list[tuple[int, ...]] = []
    examined = 0
    for a in hits.tolist():
        for position in range(int(low[a]), int(high[a])):
            examined += 1
            b = int(order[position])
            size = int(sizes_a[a] + sizes_b[b])
            if 2 <= size <= max_group:  # noqa: PLR2004 (a batch has two members at least)
                members = [p for p in range(half) if masks_a[a] >> p & 1]
                members += [half + p for p in range(count - half) if masks_b[b] >> p & 1]
                # the int64 sums wrap past 2^63 - 1: equal only modulo 2^64, so check exactly
                if sum(int(amounts[p]) for p in members) == target:
                    found.append(tuple(members))
            if examined >= SOLUTION_LIMIT * 4 or len(found) >= SOLUTION_LIMIT:
                break
        if examined >= SOLUTION_LIMIT * 4 or len(found) >= SOLUTION_LIMIT:
            break
    if not found:
        return Solutions(0, ())
    first = min(found, key=lambda members: sorted(int(ids[p]) for p in members))
    return Solutions(len(found), first)


def pools(
    targets: pl.DataFrame,
    members: pl.DataFrame,
    *,
    target_is_item: bool,
    rules: MatchRules,
) -> pl.DataFrame:
    """(t, m, m_amount, rank, truncated) pools: per target id ``t``, its candidates ``m``.

    Both frames hold ``id``, ``account_ref``, ``asset_id``, ``sign``, ``amount``, ``days``;
    the item side also ``days_before`` and ``days_after`` (its rail window).
    """
    cap = rules.subset_sum.pool
    before, after = rules.widest_window
    part = ["account_ref", "asset_id", "sign"]
    parts = (
        pl.concat([targets.select(part), members.select(part)])
        .unique()
        .sort(part)
        .with_row_index("part")
        .with_columns(pl.col("part").cast(pl.Int64()))
    )
    stride = 1 << 24  # days since 1970 fit easily; a partition's days never overlap the next

    def sort_key(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(parts, on=part, how="inner").with_columns(
            (pl.col("part") * stride + pl.col("days") + (1 << 23)).alias("key")
        )

    pool = (
        sort_key(members.filter(pl.col("amount") != 0))
        .sort("key", "id")
        .with_row_index("pos")
        .with_columns(pl.col("pos").cast(pl.Int64()))
    )
    keys = pool["key"]
    # members' days relative to the target: an item target uses its own window, a record
    # target the widest one (each member's own window is applied exactly below)
    if target_is_item:
        lo_expr = pl.col("key") - pl.col("days_before")
        hi_expr = pl.col("key") + pl.col("days_after")
    else:  # member items d with -before_i <= t - d <= after_i, so d in [t - after, t + before]
        lo_expr = pl.col("key") - after
        hi_expr = pl.col("key") + before
    framed = sort_key(targets.filter(pl.col("amount") != 0)).with_columns(
        lo_expr.alias("lo_key"), hi_expr.alias("hi_key")
    )
    low = keys.search_sorted(framed["lo_key"], side="left")
    high = keys.search_sorted(framed["hi_key"], side="right")
    mid = keys.search_sorted(framed["key"], side="left")
    scan = SCAN * cap
    ranged = framed.select(
        pl.col("id").alias("t"),
        pl.col("amount").alias("t_amount"),
        pl.col("days").alias("t_days"),
        *([pl.col("days_before"), pl.col("days_after")] if target_is_item else []),
        pl.Series("low", low, dtype=pl.Int64()),
        pl.Series("high", high, dtype=pl.Int64()),
        pl.Series("mid", mid, dtype=pl.Int64()),
    ).with_columns(
        pl.max_horizontal(pl.col("low"), pl.col("mid") - scan).alias("from"),
        pl.min_horizontal(pl.col("high"), pl.col("mid") + scan).alias("to"),
    )
    exploded = (
        ranged.with_columns(
            (pl.col("high") - pl.col("low") > pl.col("to") - pl.col("from")).alias("cut"),
            pl.int_ranges("from", "to").alias("pos"),
        )
        .explode("pos")
        .filter(pl.col("pos").is_not_null())
        .join(
            pool.select(
                "pos",
                pl.col("id").alias("m"),
                pl.col("amount").alias("m_amount"),
                pl.col("days").alias("m_days"),
                *(
                    []
                    if target_is_item
                    else [
                        pl.col("days_before").alias("m_before"),
                        pl.col("days_after").alias("m_after"),
                    ]
                ),
            ),
            on="pos",
            how="inner",
        )
    )
    gap = (
        pl.col("m_days") - pl.col("t_days")
        if target_is_item
        else pl.col("t_days") - pl.col("m_days")
    )
    window = (
        (gap >= -pl.col("days_before")) & (gap <= pl.col("days_after"))
        if target_is_item
        else (gap >= -pl.col("m_before")) & (gap <= pl.col("m_after"))
    )
    eligible = exploded.filter(
        window & (pl.col("m_amount").abs() <= pl.col("t_amount").abs())
    ).with_columns(gap.abs().alias("distance"))
    ranked = eligible.sort("t", "distance", "m").with_columns(
        pl.int_range(pl.len()).over("t").alias("rank"),
        (pl.len().over("t") > cap).alias("over"),
    )
    return (
        ranked.filter(pl.col("rank") < cap)
        .select(
            "t",
            "m",
            "m_amount",
            "rank",
            (pl.col("over") | pl.col("cut")).alias("truncated"),
        )
        .sort("t", "rank")
    )


def subset_stage(internal: pl.DataFrame, external: pl.DataFrame, rules: MatchRules) -> Found:
    """Stage 5: records as sums of items, then items as sums of records (module docstring)."""
    cols = ["account_ref", "asset_id", "sign", "amount", "days"]
    items = internal.select(pl.col("i").alias("id"), *cols, "days_before", "days_after")
    records = external.select(pl.col("x").alias("id"), *cols)
    rows: list[tuple[int, str, float, str]] = []
    links: list[tuple[int, str, int]] = []
    taken = {"internal": set[int](), "external": set[int]()}
    for target_side, member_side, targets, members in (
        ("external", "internal", records, items),
        ("internal", "external", items, records),
    ):
        open_targets = targets.filter(~pl.col("id").is_in(list(taken[target_side])))
        open_members = members.filter(~pl.col("id").is_in(list(taken[member_side])))
        if not open_targets.height or not open_members.height:
            continue
        pool = pools(
            open_targets, open_members, target_is_item=target_side == "internal", rules=rules
        )
        _search(
            pool,
            open_targets,
            target_side,
            member_side,
            rules=rules,
            taken=taken,
            rows=rows,
            links=links,
        )
    if not rows:
        return Found.none()
    matches = pl.DataFrame(rows, schema=MATCH_ROWS, orient="row").sort("gid")
    return Found(
        matches, pl.DataFrame(links, schema=LINK_ROWS, orient="row").sort("gid", "side", "idx")
    )


def _search(
    pool: pl.DataFrame,
    targets: pl.DataFrame,
    target_side: str,
    member_side: str,
    *,
    rules: MatchRules,
    taken: dict[str, set[int]],
    rows: list[tuple[int, str, float, str]],
    links: list[tuple[int, str, int]],
) -> None:
    """The per-target loop (the one row loop of the matcher: small capped pools)."""
    amounts = dict(zip(targets["id"].to_list(), targets["amount"].to_list(), strict=True))
    caps = rules.subset_sum
    t_col = pool["t"].to_numpy()
    m_col = pool["m"].to_numpy().astype(np.int64)
    a_col = pool["m_amount"].to_numpy().astype(np.int64)
    cut_col = pool["truncated"].to_numpy()
    if not len(t_col):
        return
    starts: list[int] = np.flatnonzero(np.r_[True, t_col[1:] != t_col[:-1]]).tolist()
    ends = [*starts[1:], len(t_col)]
    for start, end in zip(starts, ends, strict=True):
        t = int(t_col[start])
        if t in taken[target_side]:
            continue
        keep = [p for p in range(start, end) if int(m_col[p]) not in taken[member_side]]
        if len(keep) < 2:  # noqa: PLR2004
            continue
        ids, values = m_col[keep], a_col[keep]
        found = solve(values, ids, amounts[t], caps.max_group)
        if not found.count:
            continue
        complete = not bool(cut_col[start])
        if found.count > 1:
            rule, status = "subset:ambiguous", SUGGESTED
        else:
            rule = "subset:unique" if complete else "subset:unique_capped"
            status = AUTO if caps.auto_unique and complete else SUGGESTED
        gid = len(rows)
        rows.append((gid, rule, round(1.0 / found.count, 6), status))
        member_ids = [int(ids[p]) for p in found.first]
        links.append((gid, target_side, t))
        links.extend((gid, member_side, m) for m in member_ids)
        taken[target_side].add(t)
        taken[member_side].update(member_ids)
