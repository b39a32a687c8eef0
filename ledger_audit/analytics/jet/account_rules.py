"""JE-12, JE-13, JE-17 and JE-19: which accounts an entry touches, and with what else.

Accounts are compared by their first ``account_depth`` path segments (0: the whole id), so
per-customer accounts (``liabilities:wallet:u000042:usd``) can be judged as one kind.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.analytics.jet.flags import (
    RuleOutcome,
    amount_text,
    flag,
    iso,
    one_per_transaction,
)
from ledger_audit.analytics.jet.params import JetParams
from ledger_audit.analytics.jet.population import (
    TX_KEY,
    Population,
    code,
    distinct_in_tx,
    locate,
    run_number,
    stable_sort,
)
from ledger_audit.analytics.jet.time_rules import DAY_NS
from ledger_audit.gather import gather_frame


def _account(params: JetParams) -> pl.Expr:
    return _account_of("account_id", params)


def _account_of(column: str, params: JetParams) -> pl.Expr:
    if params.account_depth <= 0:
        return pl.col(column)
    return pl.col(column).str.split(":").list.head(params.account_depth).list.join(":")


def seldom_used(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-12: an account with at most k postings in the period, or idle D days before."""
    key = _account(params)
    account = pl.col("account")
    legs = (
        pop.history_legs.select(
            "tx", "entry_index", "ledger_id", "account_id", "asset_id", "created_ns", "in_period"
        )
        .with_columns(key.alias("account_key"), code(pl.col("ledger_id"), key).alias("account"))
        .collect(engine="in-memory")
    )
    # by account, then time; stable, so ties keep the key order. Only the keys and a row
    # number are sorted; the flagged rows' text is gathered afterwards
    ordered = (
        legs.lazy()
        .select(
            pl.int_range(pl.len(), dtype=pl.UInt32()).alias("_row"),
            "account",
            "created_ns",
            "in_period",
        )
        .pipe(stable_sort, ["account", "created_ns"])
        .with_columns(
            pl.when(account == account.shift(1))
            .then(pl.col("created_ns").shift(1))
            .alias("previous_ns"),
            pl.col("in_period").sum().over("account").alias("postings"),
        )
        .filter("in_period")
    )
    dormant = pl.col("previous_ns").is_not_null() & (
        pl.col("created_ns") - pl.col("previous_ns") >= params.dormant_days * DAY_NS
    )
    hits = ordered.filter((pl.col("postings") <= params.seldom_max) | dormant)
    found = gather_frame(legs.drop("account", "created_ns"), hits.get_column("_row"))
    rows = pl.concat([found, hits.drop("_row", "in_period")], how="horizontal").lazy()
    idle_days = (pl.col("created_ns") - pl.col("previous_ns")) // DAY_NS
    return flag(
        one_per_transaction(locate(pop, rows)),
        JetRule.SELDOM_ACCOUNT,
        message=pl.when(pl.col("postings") <= params.seldom_max)
        .then(pl.concat_str(pl.lit("account "), pl.col("account_key"), pl.lit(" is seldom used")))
        .otherwise(
            pl.concat_str(pl.lit("account "), pl.col("account_key"), pl.lit(" was dormant"))
        ),
        expected=pl.lit(
            f"more than {params.seldom_max} postings in the period and no idle spell of "
            f"{params.dormant_days} days"
        ),
        actual=pl.concat_str(
            pl.col("postings").cast(pl.String()),
            pl.lit(" posting(s) in the period; idle "),
            pl.coalesce(idle_days.cast(pl.String()), pl.lit("-")),
            pl.lit(" day(s) before"),
        ),
    )


def rare_pair(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-13: a (debit account, credit account) pair seen in at most k transactions."""
    if pop.size < params.pair_min_population:
        return RuleOutcome(
            JetRule.RARE_PAIR,
            flag(pop.transactions.head(0), JetRule.RARE_PAIR, message=pl.lit("")).findings,
            note=f"population below {params.pair_min_population} transactions: not run",
            applicable=False,
        )
    key = _account(params)
    # eager and in memory: polars 2.1 runs this plan several times slower when streaming
    coded = pop.legs.with_columns(
        code(pl.col("ledger_id"), key).alias("account"),
        code(pl.col("ledger_id"), pl.col("asset_id")).alias("asset"),
    ).collect(engine="in-memory")
    debits = coded.filter(pl.col("direction") == "debit").select(
        "tx", "asset", "entry_index", pl.col("account").alias("debit"), pl.col("account_id")
    )
    credit_legs = coded.filter(pl.col("direction") == "credit").select(
        "tx",
        pl.col("asset").alias("credit_asset"),
        pl.col("account").alias("credit"),
        pl.col("account_id").alias("credit_id"),
    )
    # count each (debit, credit) pair once per transaction, on codes; text only for the few.
    # Joined on tx alone (both sides in tx order, which polars joins by runs), then on asset
    pairs = (
        debits.join(credit_legs, on="tx", how="inner", maintain_order="left")
        .filter(pl.col("asset") == pl.col("credit_asset"))
        .pipe(distinct_in_tx, ["tx", "debit", "credit"])
        .with_columns(pl.len().over("debit", "credit").alias("seen"))
        .filter(pl.col("seen") <= params.pair_max)
        .lazy()
        .with_columns(
            _account_of("account_id", params).alias("debit_account"),
            _account_of("credit_id", params).alias("credit_account"),
        )
    )
    return flag(
        one_per_transaction(locate(pop, pairs)),
        JetRule.RARE_PAIR,
        message=pl.concat_str(
            pl.lit("unusual pair: debit "),
            pl.col("debit_account"),
            pl.lit(", credit "),
            pl.col("credit_account"),
        ),
        expected=pl.lit(f"a pair seen in more than {params.pair_max} transactions"),
        actual=pl.concat_str(
            pl.lit("seen in "), pl.col("seen").cast(pl.String()), pl.lit(" transaction(s)")
        ),
    )


def _signature(legs: pl.LazyFrame, *, inverse: bool) -> pl.LazyFrame:
    """One order-free signature per transaction (``tx``): its legs as a multiset.

    Two sums of per-leg 64-bit hashes under different seeds (modulo 2**64), and the leg
    count (directions swapped for ``inverse``): equal legs give equal signatures, and
    different legs collide with a probability near 2**-128, so no per-leg text is built or
    sorted. (Running totals over legs in ``tx`` order cost the same as this group-by, which
    polars already runs by runs of the sorted ``tx``: measured twice, not kept.)
    """
    direction = pl.col("direction")
    if inverse:
        direction = pl.when(direction == "debit").then(pl.lit("credit")).otherwise(pl.lit("debit"))
    leg = pl.struct(pl.col("account_id"), pl.col("asset_id"), direction, pl.col("amount"))
    # hashed as columns first: polars then sums them per run of ``tx`` (legs are in tx order)
    hashed = legs.select("tx", leg.hash(seed=1).alias("h1"), leg.hash(seed=2).alias("h2"))
    return hashed.group_by("tx").agg(
        pl.struct(
            pl.col("h1").sum(),
            pl.col("h2").sum(),
            pl.len().alias("legs"),
        ).alias("signature")
    )


def reversal_after_period_end(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-17: R is the exact inverse of T, T effective in (PE - w, PE], R in (PE, PE + w'].

    Pairs come from R's ``reverses_transaction_id`` link and, for entries reversed by hand,
    from equal inverse signatures; the reversal R is flagged, naming T.
    """
    end = pop.period.end_ns
    window_before, window_after = params.reversal_before_days, params.reversal_after_days
    originals = pop.history.filter(
        pl.col("effective_ns").is_between(end - window_before * DAY_NS, end - 1)
    ).select(
        "tx",
        *TX_KEY,
        pl.col("transaction_id").alias("original_id"),
        pl.col("effective_ns").alias("original_ns"),
    )
    later = pop.history.filter(
        pl.col("effective_ns").is_between(end, end + window_after * DAY_NS - 1)
    )
    mirror = _signature(
        pop.history_legs.join(originals.select("tx"), on="tx", how="semi"), inverse=True
    ).join(originals.select("tx", *TX_KEY), on="tx", how="inner")
    own = _signature(
        pop.history_legs.join(later.select("tx"), on="tx", how="semi"), inverse=False
    ).join(later.select("tx", *TX_KEY), on="tx", how="inner")
    by_signature = own.join(
        mirror.rename({"transaction_id": "original_id"}), on=["ledger_id", "signature"], how="inner"
    ).select("ledger_id", "transaction_id", "original_id")
    linked = (
        later.filter(pl.col("reverses_transaction_id").is_not_null())
        .select(
            "ledger_id", "transaction_id", pl.col("reverses_transaction_id").alias("original_id")
        )
        .join(own, on=list(TX_KEY), how="inner")
        .join(
            mirror.rename({"transaction_id": "original_id"}),
            on=["ledger_id", "original_id", "signature"],
            how="inner",
        )
        .select("ledger_id", "transaction_id", "original_id")
    )
    pairs = (
        pl.concat([linked, by_signature])
        .unique(["ledger_id", "transaction_id"], keep="first", maintain_order=True)
        .join(originals.drop("transaction_id"), on=["ledger_id", "original_id"], how="inner")
        .join(
            later.select(*TX_KEY, "version", "chain_seq", "effective_ns"),
            on=list(TX_KEY),
            how="inner",
        )
        .with_columns(
            ((pl.col("effective_ns") - pl.col("original_ns")) // 3_600_000_000_000).alias("lag_h")
        )
    )
    return flag(
        pairs,
        JetRule.REVERSAL_AFTER_PERIOD_END,
        message=pl.concat_str(
            pl.lit("reverses "), pl.col("original_id"), pl.lit(" across the period end")
        ),
        expected=pl.lit("no exact reversal just after the period end"),
        actual=pl.concat_str(
            pl.lit("original effective "),
            iso("original_ns"),
            pl.lit(", reversal effective "),
            iso("effective_ns"),
            pl.lit(", lag "),
            pl.col("lag_h").cast(pl.String()),
            pl.lit(" h"),
        ),
        note=f"windows: {window_before} days before, {window_after} days after the period end",
    )


def duplicates(pop: Population, params: JetParams) -> RuleOutcome:
    """JE-19: the same legs as an earlier transaction, within N days.

    Same accounts, asset, directions and amounts: effective the same day is a duplicate,
    within ``duplicate_days`` a near-duplicate; the later one is flagged, naming the other.
    """
    # twins share h1: the rest of the rule looks only at signatures whose h1 repeats
    # (found by sorting the numbers: half the cost of hashing them)
    every = _signature(pop.legs, inverse=False).unnest("signature").collect(engine="in-memory")
    h1 = every.get_column("h1").sort()
    repeated = h1.filter(h1 == h1.shift(1)).unique()
    sig = every.lazy().filter(pl.col("h1").is_in(repeated.implode()))
    group = ["h1", "h2", "legs", "ledger"]
    same_group = pl.all_horizontal([pl.col(c) == pl.col(c).shift(1) for c in group])
    # ``tx`` is in key order, so within one ledger it orders as the transaction id does;
    # the ledger is numbered the same way (its runs in ``tx`` order), so no text is sorted.
    rows = (
        pop.transactions.with_columns(run_number("ledger_id").alias("ledger"))
        .join(sig, on="tx", how="inner")
        .filter(pl.struct(group).is_duplicated())  # a lone signature has no earlier twin
        .sort([*group, "effective_ns", "created_ns", "tx"])
        .with_columns(
            pl.when(same_group).then(pl.col("effective_ns").shift(1)).alias("other_ns"),
            pl.when(same_group).then(pl.col("transaction_id").shift(1)).alias("other_id"),
        )
        .filter(
            pl.col("other_ns").is_not_null()
            & (pl.col("effective_ns") - pl.col("other_ns") <= params.duplicate_days * DAY_NS)
        )
    )
    same_day = (pl.col("effective_ns") // DAY_NS) == (pl.col("other_ns") // DAY_NS)
    legs = pop.legs.select("tx", "amount", "asset_id", "entry_index")
    flagged = legs.join(rows.select("tx"), on="tx", how="semi")
    first_leg = one_per_transaction(flagged).select("tx", "amount", "asset_id")
    return flag(
        rows.join(first_leg, on="tx", how="left"),
        JetRule.DUPLICATE,
        message=pl.concat_str(
            pl.when(same_day).then(pl.lit("duplicate of ")).otherwise(pl.lit("near-duplicate of ")),
            pl.col("other_id"),
        ),
        expected=pl.lit(f"legs unlike any other transaction's within {params.duplicate_days} days"),
        actual=pl.concat_str(
            pl.lit("same legs ("),
            amount_text(),
            pl.lit("), effective "),
            iso("effective_ns"),
            pl.lit(" and "),
            iso("other_ns"),
        ),
    )
