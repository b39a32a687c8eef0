"""Verify Blnk's transaction hash chain: every break, classified as LACH-1 classifies them.

Blnk's ``VerifyChain`` walks from genesis and returns at the first break. This check
recomputes every row's hash from its own stored ``chain_prev_hash`` and fields at once
(vectorised), then reads three signals per chained row:

- self: the stored ``chain_hash`` equals the recomputed one (``prev`` is part of the hashed
  text, so an edited ``chain_prev_hash`` breaks it too);
- link: the stored ``chain_prev_hash`` equals the stored hash of the row at ``seq - 1``
  (64 zeros at seq 1);
- gap: the row at ``seq - 1`` is missing;

and reports one finding per event:

1. inserted: of two rows at one seq (the unique index forbids it; a copy may not) the one
   no successor links to; a row whose prev is a hash another row at the right seq already
   follows (a fork); a chained row beyond ``chain_state.last_seq`` (Blnk advances the
   bookmark in the same database transaction as the rows, so one snapshot never shows that);
2. tampered: self broken (a sealed field edited in place, or the hash column itself);
3. genesis mismatch: seq 1 links to something other than 64 zeros, or ``chain_state``'s
   genesis is not 64 zeros;
4. deleted: one finding per missing seq before a present one;
5. re-sealed: a self-consistent row whose successor links to a hash no row has (the row was
   edited and its hash recomputed);
6. reordered: rows whose links place them at another seq (their hashes are intact, their
   ``chain_seq`` was changed); the rows around them, whose links only point at a moved row,
   are not reported again;
7. truncated: ``chain_state.last_seq`` is beyond the last chained row (the tail is gone);
   rewritten: at ``last_seq`` the stored hash is not ``chain_state.head_hash`` (a re-hashed
   head, or history re-hashed up to it);
8. unchained: a row without a seq that the chainer would already have sealed (an ``id`` below
   the highest chained id: Blnk seals in id order). Rows above it are the normal backlog of
   the chainer (rows younger than its trailing delay): counted and stated, not a finding.

Without a checkpoint from an earlier audit, a history re-hashed from some row to the head
together with ``chain_state`` cannot be seen (the chain columns and ``chain_state`` are not
protected by Blnk's immutability trigger); the coverage says so and the head is returned as a
checkpoint for the next audit.
"""

from __future__ import annotations

from typing import cast

import polars as pl

from ledger_audit.findings import (
    CheckResult,
    Coverage,
    RuleId,
    Severity,
    empty_findings,
    findings_from,
    sort_findings,
)
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.blnk.chain_hash import GENESIS, chain_hashes, rfc3339_nano_expr
from ledger_audit.sources.adapters.blnk.read import BlnkRows

CHECK = "blnk_chain"
RULES = (
    RuleId.CHAIN_TAMPERED,
    RuleId.CHAIN_RESEALED,
    RuleId.CHAIN_DELETED,
    RuleId.CHAIN_INSERTED,
    RuleId.CHAIN_REORDERED,
    RuleId.CHAIN_TRUNCATED,
    RuleId.CHAIN_REWRITTEN,
    RuleId.CHAIN_GENESIS_MISMATCH,
    RuleId.CHAIN_UNCHAINED,
)
CHECKPOINT_NAME = "blnk:chain_state/global"
"""How the verified head is named among the run's checkpoints."""
GAP_LIMIT = 1_000
"""Missing seqs listed one by one before a gap is reported as one finding."""
_TABLE = "blnk.transactions"


def _locator(seq: pl.Expr | None = None) -> pl.Expr:
    """``blnk.transactions(transaction_id=..., chain_seq=...)``: the vendor's own row."""
    parts = [pl.lit("transaction_id="), pl.col("transaction_id")]
    if seq is not None:
        parts += [pl.lit(", chain_seq="), seq.cast(pl.String)]
    return pl.concat_str([pl.lit(f"{_TABLE}("), *parts, pl.lit(")")])


def _findings(
    rows: pl.DataFrame,
    rule: RuleId,
    message: pl.Expr,
    *,
    expected: pl.Expr | None = None,
    actual: pl.Expr | None = None,
    locator: pl.Expr | None = None,
) -> pl.LazyFrame:
    return findings_from(
        rows.lazy().with_columns(pl.lit("blnk").alias("ledger_id")),
        rule=rule,
        severity=Severity.CRITICAL,
        check=CHECK,
        table=_TABLE,
        message=message,
        expected=expected,
        actual=actual,
        locator=locator if locator is not None else _locator(pl.col("chain_seq")),
    )


def _signals(chained: pl.DataFrame) -> pl.DataFrame:
    """Recomputed hash, self, link and gap per chained row (inserted duplicates removed)."""
    hashes = chained.with_columns(rfc3339_nano_expr(pl.col("created_at")).alias("created_text"))
    hashes = hashes.with_columns(chain_hashes(hashes, prev="chain_prev_hash"))
    predecessor = hashes.select(
        (pl.col("chain_seq") + 1).alias("chain_seq"), pl.col("chain_hash").alias("pred_hash")
    )
    successor = hashes.select(
        (pl.col("chain_seq") - 1).alias("chain_seq"), pl.col("chain_prev_hash").alias("succ_prev")
    )
    joined = hashes.join(predecessor, on="chain_seq", how="left").join(
        successor, on="chain_seq", how="left"
    )
    return joined.with_columns(
        (pl.col("recomputed") == pl.col("chain_hash")).fill_null(value=False).alias("self_ok"),
        pl.when(pl.col("chain_seq") == 1)
        .then(pl.col("chain_prev_hash") == GENESIS)
        .otherwise(pl.col("chain_prev_hash") == pl.col("pred_hash"))
        .fill_null(value=False)
        .alias("link_ok"),
        ((pl.col("chain_seq") > 1) & pl.col("pred_hash").is_null()).alias("gap"),
    ).sort("chain_seq")


def _duplicates(chained: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, inserted duplicates): at a shared seq the row a successor links to stays."""
    linked = pl.col("chain_hash").is_in(
        chained.get_column("chain_prev_hash").drop_nulls().implode()
    )
    ranked = (
        chained.with_columns((~linked).alias("_unlinked"))
        .sort("chain_seq", "_unlinked", "id")
        .with_columns(pl.int_range(pl.len()).over("chain_seq").alias("_rank"))
        .drop("_unlinked")
    )
    kept = ranked.filter(pl.col("_rank") == 0).drop("_rank")
    return kept, ranked.filter(pl.col("_rank") > 0).drop("_rank")


def _link_positions(view: pl.DataFrame, candidates: set[int]) -> dict[int, int]:
    """Where each candidate row's links place it: its parent's position + 1.

    Only rows whose link to the row at ``seq - 1`` is broken are walked (few); a chain of
    them is resolved back to a row outside the set, whose seq is trusted.
    """
    by_hash = {h: (seq, rid) for seq, h, rid in view.select("chain_seq", "chain_hash", "id").rows()}
    prev_of = dict(view.select("id", "chain_prev_hash").rows())
    seq_of = dict(view.select("id", "chain_seq").rows())
    positions: dict[int, int] = {}
    for start in sorted(candidates):
        path: list[int] = []
        rid: int | None = start
        base: int | None = None
        while rid is not None and rid not in positions:
            if rid not in candidates and path:
                base = seq_of[rid]
                break
            path.append(rid)
            if len(path) > len(candidates) + 1:
                break
            prev = prev_of.get(rid)
            if prev == GENESIS:
                base = 0
                break
            parent = by_hash.get(prev) if prev is not None else None
            rid = parent[1] if parent is not None else None
        if rid is not None and rid in positions and base is None:
            base = positions[rid]
        if base is None:
            continue
        for offset, row in enumerate(reversed(path), start=1):
            positions[row] = base + offset
    return positions


def _moved(view: pl.DataFrame) -> pl.DataFrame:
    """Rows whose intact links put them at another seq (their neighbours only point at them)."""
    hashes = view.get_column("chain_hash").drop_nulls().implode()
    candidates = view.filter(
        pl.col("self_ok")
        & ~pl.col("link_ok")
        & ~pl.col("gap")
        & (pl.col("chain_seq") > 1)
        & pl.col("chain_prev_hash").is_in(hashes)
    )
    ids = set(candidates.get_column("id").to_list())
    if not ids:
        return view.clear()
    positions = _link_positions(view, ids)
    placed = pl.DataFrame(
        {"id": list(positions), "link_seq": list(positions.values())},
        schema={"id": pl.Int64, "link_seq": pl.Int64},
    )
    return candidates.join(placed, on="id", how="inner").filter(
        pl.col("link_seq") != pl.col("chain_seq")
    )


def _forks(view: pl.DataFrame) -> pl.DataFrame:
    """Rows linking to a row whose rightful successor (at its seq + 1) links to it too."""
    rightful = view.filter(pl.col("link_ok")).select(pl.col("chain_prev_hash").alias("parent_hash"))
    return view.filter(~pl.col("link_ok") & pl.col("self_ok")).join(
        rightful, left_on="chain_prev_hash", right_on="parent_hash", how="semi"
    )


def _gaps(view: pl.DataFrame) -> pl.DataFrame:
    """One row per missing seq below the last chained one (gaps wider than GAP_LIMIT: one)."""
    seqs = view.select("chain_seq", "transaction_id").sort("chain_seq")
    with_prev = seqs.with_columns(pl.col("chain_seq").shift(1).fill_null(0).alias("before"))
    gaps = with_prev.filter(pl.col("chain_seq") - pl.col("before") > 1)
    small = gaps.filter(pl.col("chain_seq") - pl.col("before") - 1 <= GAP_LIMIT)
    missing = small.select(
        pl.int_ranges(pl.col("before") + 1, pl.col("chain_seq")).alias("missing_seq"),
        pl.col("transaction_id").alias("next_id"),
        pl.col("chain_seq").alias("next_seq"),
    ).explode("missing_seq")
    wide = gaps.filter(pl.col("chain_seq") - pl.col("before") - 1 > GAP_LIMIT).select(
        (pl.col("before") + 1).alias("missing_seq"),
        pl.col("transaction_id").alias("next_id"),
        pl.col("chain_seq").alias("next_seq"),
    )
    return pl.concat([missing, wide]).sort("missing_seq")


def verify_blnk_chain(rows: BlnkRows) -> NativeCheck:
    """Every break of Blnk's chain in ``rows``, classified; the verified head as checkpoint."""
    transactions = rows.transactions
    if not rows.chained:
        coverage = Coverage(
            0,
            "transaction rows",
            f"{rows.label}: no hash chain",
            unproven=(
                (
                    "this Blnk database predates the hash chain (migration 1781162328: "
                    "chain_seq, chain_prev_hash, chain_hash and chain_state are absent), so "
                    "its transactions' history is not proven by a chain"
                ),
            ),
            unproven_rules=RULES,
        )
        return NativeCheck(CheckResult(CHECK, empty_findings(), coverage), RULES)
    chained_all = transactions.filter(pl.col("chain_seq").is_not_null())
    kept, duplicates = _duplicates(chained_all)
    view = _signals(kept)
    found: list[pl.LazyFrame] = []
    if duplicates.height:
        found.append(
            _findings(
                duplicates,
                RuleId.CHAIN_INSERTED,
                pl.format("a second row holds chain_seq {}: it was inserted", pl.col("chain_seq")),
            )
        )
    forks = _forks(view)
    moved = _moved(view.join(forks.select("id"), on="id", how="anti"))
    if forks.height:
        found.append(
            _findings(
                forks,
                RuleId.CHAIN_INSERTED,
                pl.lit("its prev hash is a row that another row already follows: a fork"),
                expected=pl.col("pred_hash"),
                actual=pl.col("chain_prev_hash"),
            )
        )
    tampered = view.filter(~pl.col("self_ok"))
    if tampered.height:
        found.append(
            _findings(
                tampered,
                RuleId.CHAIN_TAMPERED,
                pl.lit(
                    "its sealed fields (or its chain columns) no longer hash to its stored "
                    "chain_hash: the row was edited under the chain"
                ),
                expected=pl.col("chain_hash"),
                actual=pl.col("recomputed"),
            )
        )
    genesis = view.filter(
        (pl.col("chain_seq") == 1) & pl.col("self_ok") & (pl.col("chain_prev_hash") != GENESIS)
    )
    if genesis.height:
        found.append(
            _findings(
                genesis,
                RuleId.CHAIN_GENESIS_MISMATCH,
                pl.lit("the first chained row does not link to the genesis (64 zeros)"),
                expected=pl.lit(GENESIS),
                actual=pl.col("chain_prev_hash"),
            )
        )
    gaps = _gaps(view)
    if gaps.height:
        found.append(
            _findings(
                gaps.rename({"next_id": "transaction_id"}).with_columns(
                    pl.col("missing_seq").alias("chain_seq")
                ),
                RuleId.CHAIN_DELETED,
                pl.format(
                    "chain_seq {} is missing before {} (seq {}): a chained row was deleted",
                    pl.col("missing_seq"),
                    pl.col("transaction_id"),
                    pl.col("next_seq"),
                ),
                expected=pl.format("a row at chain_seq {}", pl.col("missing_seq")),
                actual=pl.lit("none"),
                locator=pl.format(f"{_TABLE}(chain_seq={{}})", pl.col("missing_seq")),
            )
        )
    hashes = view.get_column("chain_hash").drop_nulls()
    resealed = view.filter(
        pl.col("self_ok")
        & pl.col("succ_prev").is_not_null()
        & (pl.col("succ_prev") != pl.col("chain_hash"))
        & ~pl.col("succ_prev").is_in(hashes.implode())
    )
    if resealed.height:
        found.append(
            _findings(
                resealed,
                RuleId.CHAIN_RESEALED,
                pl.lit(
                    "the row hashes consistently, but the next row links to a hash no row has: "
                    "it was edited and re-hashed"
                ),
                expected=pl.col("succ_prev"),
                actual=pl.col("chain_hash"),
            )
        )
    if moved.height:
        found.append(
            _findings(
                moved,
                RuleId.CHAIN_REORDERED,
                pl.format(
                    "its links place it at chain_seq {}, it is stored at {}: rows were reordered",
                    pl.col("link_seq"),
                    pl.col("chain_seq"),
                ),
                expected=pl.col("link_seq").cast(pl.String),
                actual=pl.col("chain_seq").cast(pl.String),
            )
        )
    state_found, head = _state_findings(rows, view)
    found.extend(state_found)
    backlog, early = _unchained(transactions)
    if early.height:
        found.append(
            _findings(
                early,
                RuleId.CHAIN_UNCHAINED,
                pl.lit(
                    "the row has no chain_seq although rows after it (by id) are chained: "
                    "Blnk's chainer seals in id order, so it was inserted behind the chain"
                ),
                locator=_locator(),
            )
        )
    findings = sort_findings(pl.concat(found).collect()) if found else empty_findings()
    top = _top_seq(view)
    checkpoints = (
        (Checkpoint(CHECKPOINT_NAME, top, head, view.height),)
        if head is not None and view.height
        else ()
    )
    unproven = [
        (
            "without a checkpoint from an earlier audit, a history re-hashed from some row to "
            "the head together with chain_state cannot be seen (Blnk lets the chain columns "
            "and chain_state be updated)"
        )
    ]
    if backlog:
        unproven.append(
            f"{backlog} newest transaction row(s) are not chained yet (the chainer's backlog): "
            "their fields are not proven by the chain"
        )
    if rows.state.last_seq is None:
        unproven.append("chain_state has no 'global' row: truncation and the head are not proven")
    coverage = Coverage(
        view.height + duplicates.height,
        "chained transaction rows",
        f"{rows.label}: Blnk's global chain, seq 1..{top}",
        unproven=tuple(unproven),
        unproven_rules=(
            (RuleId.CHAIN_TRUNCATED, RuleId.CHAIN_REWRITTEN) if rows.state.last_seq is None else ()
        ),
    )
    return NativeCheck(CheckResult(CHECK, findings, coverage, checkpoints=checkpoints), RULES)


def _top_seq(view: pl.DataFrame) -> int:
    """The highest chain_seq present (0 for an empty chain)."""
    top = view.select(pl.col("chain_seq").max().fill_null(0)).item()
    return int(cast("int", top))


def _state_findings(rows: BlnkRows, view: pl.DataFrame) -> tuple[list[pl.LazyFrame], str | None]:
    """Compare the chain's end with ``chain_state``; return findings and the stored head."""
    found: list[pl.LazyFrame] = []
    state = rows.state
    last = view.filter(pl.col("chain_seq") == pl.col("chain_seq").max())
    head = cast("str | None", last["chain_hash"][0]) if last.height else None
    top = _top_seq(view)
    state_row = pl.DataFrame({"transaction_id": ["global"]})
    state_locator = pl.lit("blnk.chain_state(chain_key=global)")
    if state.genesis_hash is not None and state.genesis_hash != GENESIS:
        found.append(
            _findings(
                state_row,
                RuleId.CHAIN_GENESIS_MISMATCH,
                pl.lit("chain_state.genesis_hash is not Blnk's genesis (64 zeros)"),
                expected=pl.lit(GENESIS),
                actual=pl.lit(state.genesis_hash),
                locator=state_locator,
            )
        )
    if state.last_seq is None:
        return found, head
    if state.last_seq > top:
        found.append(
            _findings(
                state_row,
                RuleId.CHAIN_TRUNCATED,
                pl.lit(
                    f"chain_state records {state.last_seq} chained rows, the chain ends at seq "
                    f"{top}: its tail was deleted"
                ),
                expected=pl.lit(str(state.last_seq)),
                actual=pl.lit(str(top)),
                locator=state_locator,
            )
        )
    beyond = view.filter(pl.col("chain_seq") > state.last_seq)
    if beyond.height:
        found.append(
            _findings(
                beyond,
                RuleId.CHAIN_INSERTED,
                pl.lit(
                    f"the row is chained beyond chain_state.last_seq {state.last_seq}: Blnk "
                    "advances both together, so it was appended outside the chainer"
                ),
            )
        )
    at_state = view.filter(pl.col("chain_seq") == state.last_seq)
    if at_state.height and at_state["chain_hash"][0] != state.head_hash:
        found.append(
            _findings(
                at_state,
                RuleId.CHAIN_REWRITTEN,
                pl.lit(
                    "the row at chain_state.last_seq does not carry chain_state.head_hash: the "
                    "head (or history up to it) was re-hashed, or chain_state was edited"
                ),
                expected=pl.lit(state.head_hash),
                actual=pl.col("chain_hash"),
            )
        )
    return found, head


def _unchained(transactions: pl.DataFrame) -> tuple[int, pl.DataFrame]:
    """(backlog count, rows left unchained below the highest chained id)."""
    unchained = transactions.filter(pl.col("chain_seq").is_null())
    top = transactions.filter(pl.col("chain_seq").is_not_null())["id"].max()
    if top is None:
        return unchained.height, unchained.clear()
    early = unchained.filter(pl.col("id") < top)
    return unchained.height - early.height, early
