"""JE-01, JE-09, JE-10, JE-11 and JE-21: what the amounts themselves say.

Amounts stay integer minor units: a major-unit threshold T becomes T * 10**scale of the
leg's asset, and products that could pass 2**63 are taken in Int128. Legs of an asset whose
scale is unknown (or above 18) are left out and counted in the rule's note.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.analytics.jet.flags import RuleOutcome, amount_text, flag, one_per_transaction
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.analytics.jet.population import Population, locate, physical
from ledger_audit.findings import FINDINGS_SCHEMA

_BP = 10_000
_ROW = ("ledger_id", "transaction_id", "version", "chain_seq")


def _wide(name: str) -> pl.Expr:
    return pl.col(name).cast(pl.Int128())


def unbalanced(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-01: per transaction and asset, debits and credits differ by more than the tolerance."""
    signed = (
        pl.when(pl.col("direction") == "debit")
        .then(_wide("amount"))
        .otherwise(_wide("amount") * -1)
    )
    legs = pop.legs.select("tx", "asset_id", signed.alias("signed")).collect(engine="in-memory")
    sums = _nets(legs).filter(pl.col("net").abs() > params.tolerance)
    return flag(
        locate(pop, sums.lazy()),
        JetRule.UNBALANCED,
        message=pl.lit("debits and credits differ within one asset"),
        expected=pl.lit(f"debits - credits within {params.tolerance}"),
        actual=pl.concat_str(pl.lit("debits - credits = "), amount_text("net")),
    )


def _nets(legs: pl.DataFrame) -> pl.DataFrame:
    """Per (tx, asset_id): ``net``, the sum of ``signed`` (Int128).

    Legs are in ``tx`` order, and nearly every transaction moves one asset: its net is the
    running total at its last leg minus the running total before its first (a group-by of
    a million transactions costs several times more). Transactions whose legs change asset
    are summed by a group-by; legs out of ``tx`` order take the group-by whole.
    """
    tx, asset = pl.col("tx"), pl.col("asset_id")
    if not legs.get_column("tx").is_sorted():
        return legs.group_by("tx", "asset_id").agg(pl.col("signed").sum().alias("net"))
    mixed = legs.filter((tx == tx.shift(1)) & (asset != asset.shift(1))).get_column("tx")
    several = tx.is_in(mixed.unique().implode())
    last = (tx != tx.shift(-1)).fill_null(value=True)
    running = pl.col("signed").cum_sum()
    single = (
        legs.with_columns(running.alias("total"))
        .filter(last)
        .with_columns((pl.col("total") - pl.col("total").shift(1).fill_null(0)).alias("net"))
        .filter(~several)
        .select("tx", "asset_id", "net")
    )
    grouped = (
        legs.filter(several).group_by("tx", "asset_id").agg(pl.col("signed").sum().alias("net"))
    )
    return pl.concat([single, grouped], how="vertical")


def round_amount(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-09: a leg of at least the floor that is a multiple of a base (largest base named)."""
    legs = pop.legs.filter(pl.col("unit").is_not_null())
    base: pl.Expr = pl.lit(None, dtype=pl.Int64())
    for r in sorted(params.round_bases):  # the largest matching base wins
        multiple = (_wide("amount") % (_wide("unit") * r)) == 0
        base = pl.when(multiple).then(pl.lit(r, dtype=pl.Int64())).otherwise(base)
    rows = legs.with_columns(base.alias("base")).filter(
        pl.col("base").is_not_null() & (_wide("amount") >= _wide("unit") * params.round_floor)
    )
    return flag(
        locate(pop, one_per_transaction(rows, in_leg_order=pop.legs_in_order)),
        JetRule.ROUND_AMOUNT,
        message=pl.concat_str(
            pl.lit("round amount: a multiple of "),
            pl.col("base").cast(pl.String()),
            pl.lit(" major units"),
        ),
        expected=pl.lit(f"not a round amount of at least {params.round_floor} major units"),
        actual=amount_text(),
    )


def consistent_endings(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-10: an amount ending over-represented on its account.

    The last k digits of the major-unit amount, seen far more often than uniform (Z against
    10**-k, continuity-corrected) and at least ``ending_min_count`` times.
    """
    k = params.ending_digits
    modulus = 10**k
    # amount >= unit * 10**k iff amount // unit >= 10**k (floor division, unit > 0): Int64
    # division cannot overflow, so no wider type is needed
    major = pl.col("amount") // pl.col("unit")
    legs = (
        pop.legs.filter(pl.col("unit").is_not_null() & (major >= modulus))
        .select(
            "tx",
            "entry_index",
            "account_id",
            "asset_id",
            "amount",
            (major % modulus).alias("ending"),
            *(
                physical(pl.col(column)).cast(pl.Int64()).alias(name)
                for name, column in _CODES.items()
            ),
        )
        .collect(engine="in-memory")
    )
    counts = _ending_counts(legs, modulus, params.ending_min_count)
    p = 1.0 / modulus
    z = (pl.col("seen") - pl.col("n") * p - 0.5) / (pl.col("n") * p * (1 - p)).sqrt()
    flagged = counts.with_columns(z.alias("z")).filter(pl.col("z") > params.ending_z)
    keys = [*_CODES, "ending"]
    # the few legs whose (account, ending) is flagged, found by a semi join; then in leg
    # order, so each transaction's first is its first row
    rows = legs.join(flagged.select(keys), on=keys, how="semi", maintain_order="left")
    first = one_per_transaction(rows.lazy(), in_leg_order=pop.legs_in_order)
    return flag(
        locate(pop, first.join(flagged.lazy(), on=keys, how="left", maintain_order="left")),
        JetRule.CONSISTENT_ENDINGS,
        message=pl.concat_str(
            pl.lit("amount ending ..."),
            pl.col("ending").cast(pl.String()).str.zfill(k),
            pl.lit(" is over-represented on this account"),
        ),
        expected=pl.lit(f"each {k}-digit ending about 1 in {modulus} (Z <= {params.ending_z})"),
        actual=pl.concat_str(
            pl.col("seen").cast(pl.String()),
            pl.lit(" of "),
            pl.col("n").cast(pl.String()),
            pl.lit(" amounts, Z = "),
            pl.col("z").round(2).cast(pl.String()),
        ),
    )


_CODES = {"_ledger": "ledger_id", "_account": "account_id", "_asset": "asset_id"}


def _ending_counts(legs: pl.DataFrame, modulus: int, least: int) -> pl.DataFrame:
    """Codes and endings seen at least ``least`` times: ``seen``, and ``n``, the legs.

    One row per (ledger, account, asset, ending) as categorical codes; ``n`` counts the
    legs of that (ledger, account, asset).

    There are about as many endings as legs, so the four are packed into one Int64 (mixed
    radix: exact) and counted by sorting it, several times faster in polars 2.1 than a
    group-by of four columns; the sorted numbers also give ``n`` (the runs of the number
    without its ending). When the packed number could pass 2**63 they are grouped as they
    are.
    """
    codes = list(_CODES)
    most = legs.select(pl.col(codes).max().fill_null(0)).row(0)
    radix = [int(m) + 1 for m in most]
    if radix[0] * radix[1] * radix[2] * modulus >= 2**63:
        counts = legs.group_by(*codes, "ending").agg(pl.len().alias("seen"))
        totals = legs.group_by(codes).agg(pl.len().alias("n"))
        return counts.filter(pl.col("seen") >= least).join(totals, on=codes, how="left")
    packed = pl.lit(0, dtype=pl.Int64())
    for column, size in zip(codes, radix, strict=True):
        packed = packed * size + pl.col(column)
    ordered = legs.select((packed * modulus + pl.col("ending")).sort().alias("k"))
    runs = ordered.to_series().rle().struct.unnest()
    totals = (
        (ordered.to_series() // modulus)
        .rle()
        .struct.unnest()
        .select(pl.col("value").alias("group"), pl.col("len").alias("n"))
    )
    value = pl.col("value") // modulus
    counts = (
        runs.filter(pl.col("len") >= least)
        .with_columns(value.alias("group"))
        .join(totals, on="group", how="left", maintain_order="left")
    )
    return counts.select(
        (value // (radix[1] * radix[2])).alias(codes[0]),
        (value // radix[2] % radix[1]).alias(codes[1]),
        (value % radix[2]).alias(codes[2]),
        (pl.col("value") % modulus).alias("ending"),
        pl.col("len").cast(pl.UInt32()).alias("seen"),
        pl.col("n").cast(pl.UInt32()),
    )


def _limits(pop: Population, params: JetParams) -> pl.LazyFrame:
    """Per asset and threshold T: T and the band's floor in minor units, exact.

    Computed with Python integers over the few (asset, T) pairs; a value beyond Int64 is
    left null, so no leg is compared with a wrapped number.
    """
    units = pop.legs.select("asset_id", "unit").unique().collect()
    rows = []
    for asset, unit in units.iter_rows():
        for threshold in params.thresholds:
            limit = None if unit is None else unit * threshold
            floor = None if limit is None else -(-limit * (_BP - params.below_bp) // _BP)
            fits = limit is not None and limit < 2**63
            rows.append((asset, threshold, limit if fits else None, floor if fits else None))
    schema = {
        "asset_id": pl.String(),
        "threshold": pl.Int64(),
        "limit": pl.Int64(),
        "floor": pl.Int64(),
    }
    return pl.LazyFrame(rows, schema=schema, orient="row")


def just_below(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-11: T * (1 - p) <= amount < T for an approval threshold T (lowest T named).

    The band that can hold a leg is the lowest T above its amount (amount < unit * T
    iff amount // unit < T, exactly): one sorted search per leg, with no table of
    (asset, T) joined or looked up. It holds the amount iff amount * 10,000 >= unit * T *
    (10,000 - p), compared in Int128; a limit past 2**63 is no band (as in ``_limits``).
    Only the flagged legs get their band's edges as numbers.
    """
    thresholds = sorted(set(params.thresholds))
    if not thresholds:
        return RuleOutcome(JetRule.JUST_BELOW, pl.LazyFrame(schema=FINDINGS_SCHEMA))
    # one null past the largest: a leg at or above every threshold finds no band
    table = pl.Series("t", [*thresholds, None], dtype=pl.Int64())
    above = pl.lit(table).search_sorted(pl.col("amount") // pl.col("unit"), side="right")
    limit = _wide("unit") * pl.col("threshold")
    inside = (_wide("amount") * _BP >= limit * (_BP - params.below_bp)) & (limit < 2**63)
    rows = (
        pop.legs.select("tx", "entry_index", "account_id", "asset_id", "amount", "unit")
        .filter(pl.col("unit").is_not_null() & (pl.col("amount") >= 0))
        .with_columns(pl.lit(table).gather(above).alias("threshold"))
        .filter(pl.col("threshold").is_not_null() & inside)
    )
    first = one_per_transaction(rows, in_leg_order=pop.legs_in_order).with_columns(
        limit.alias("limit"),
        # ceil(limit * (10,000 - p) / 10,000), limit >= 0: the smallest amount in the band
        ((limit * (_BP - params.below_bp) + _BP - 1) // _BP).alias("floor"),
    )
    return flag(
        locate(pop, first),
        JetRule.JUST_BELOW,
        message=pl.concat_str(
            pl.lit(f"amount within {params.below_bp / 100:g} % below the threshold "),
            pl.col("threshold").cast(pl.String()),
        ),
        expected=pl.concat_str(
            pl.lit("below "),
            pl.col("floor").cast(pl.String()),
            pl.lit(" or at least "),
            pl.col("limit").cast(pl.String()),
        ),
        actual=amount_text(),
    )


def split_below(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-11 split sets: legs each below T, together at least T, within W hours.

    Legs of one actor (when known) and account. A leg is flagged when the window ending or
    starting at it holds such a set of two or more legs.
    """
    window = params.split_hours * 3_600 * 10**9
    legs = pop.legs.filter(pl.col("manual")) if params.split_scope == "manual" else pop.legs
    group = ["ledger_id", "actor", "account_id", "asset_id", "threshold"]
    rows = legs.join(_limits(pop, params), on="asset_id", how="inner").filter(
        pl.col("amount") < pl.col("limit")
    )
    ordered = rows.sort([*group, "created_ns", "transaction_id", "entry_index"], nulls_last=False)
    at = pl.col("created_ns")
    summed = ordered.with_columns(
        _window_sum(at, window, group).alias("back_sum"),
        _window_count(at, window, group).alias("back_n"),
    )
    reverse = summed.with_columns((-at).alias("neg_ns")).sort(
        [*group, "neg_ns", "transaction_id", "entry_index"], nulls_last=False
    )
    both = reverse.with_columns(
        _window_sum(pl.col("neg_ns"), window, group).alias("ahead_sum"),
        _window_count(pl.col("neg_ns"), window, group).alias("ahead_n"),
    )
    hit = ((pl.col("back_sum") >= pl.col("limit")) & (pl.col("back_n") >= 2)) | (  # noqa: PLR2004
        (pl.col("ahead_sum") >= pl.col("limit")) & (pl.col("ahead_n") >= 2)  # noqa: PLR2004
    )
    flagged = both.filter(hit).with_columns(
        pl.max_horizontal(
            pl.when(pl.col("back_n") >= 2).then(pl.col("back_sum")),  # noqa: PLR2004
            pl.when(pl.col("ahead_n") >= 2).then(pl.col("ahead_sum")),  # noqa: PLR2004
        ).alias("set_sum")
    )
    note = "grouped by actor and account" if pop.has_actor else "actor absent: grouped by account"
    return flag(
        one_per_transaction(locate(pop, flagged.sort("threshold"))),
        JetRule.SPLIT_BELOW,
        message=pl.concat_str(
            pl.lit(f"part of a set within {params.split_hours} h, each below the threshold "),
            pl.col("threshold").cast(pl.String()),
            pl.lit(", together above it"),
        ),
        expected=pl.concat_str(pl.lit("sets below "), pl.col("limit").cast(pl.String())),
        actual=pl.concat_str(
            amount_text(), pl.lit("; the set sums to "), pl.col("set_sum").cast(pl.String())
        ),
        note=f"{note}; scope: {params.split_scope} kinds",
    )


def _window_sum(at: pl.Expr, window: int, group: list[str]) -> pl.Expr:
    """Sum of ``amount`` over rows of the group with time in (at - window, at] (sorted)."""
    return _wide("amount").cum_sum().over(group) - _shifted(at, window, group, _wide("amount"))


def _window_count(at: pl.Expr, window: int, group: list[str]) -> pl.Expr:
    """How many rows of the group have time in (at - window, at] (sorted by time)."""
    before = at.search_sorted(at - window, side="right").cast(pl.Int64())
    return (pl.int_range(pl.len(), dtype=pl.Int64()) + 1 - before).over(group)


def _shifted(at: pl.Expr, window: int, group: list[str], value: pl.Expr) -> pl.Expr:
    """The running total of ``value`` just before the window opens, per group.

    Rows are sorted by ``at`` within the group; ``search_sorted`` finds how many rows of
    the group lie at or before ``at - window``, and the cumulative sum at that index is
    what the window excludes.
    """
    before = at.search_sorted(at - window, side="right").cast(pl.Int64())
    excluded = value.cum_sum().gather((before - 1).clip(0)) * (before > 0).cast(pl.Int128())
    return excluded.over(group)
