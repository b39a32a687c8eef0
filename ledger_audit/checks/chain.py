"""``chain.*``: verify every ledger's LACH-1 hash chain and classify what broke it.

Verification is parallel (DESIGN.md section 4): every row's content hash is recomputed from
its stored fields and every stored link re-hashed, all rows at once (``chain_hashes``). The
classifier then reads four signals per row, never stopping at the first break:

- content: the stored ``content_hash`` equals the recomputed one;
- self-link: the stored ``chain_hash`` equals link(stored prev, stored content);
- prev: the stored ``chain_prev_hash`` equals the predecessor's ``chain_hash`` (genesis at 1);
- gap: the predecessor's seq is missing.

and turns them into one finding per event:

1. unchained: a row of a lach/1 ledger with a null chain field (it keeps its seq, if any);
2. inserted (duplicate seq): of several rows at one seq the chain runs through the one its
   successor links to; the others are inserted;
3. reordered: rows whose content only matches another row's seq, and which all fit once put
   back (a swapped pair, or a longer cycle); a row whose content matches a free seq had its
   ``chain_seq`` edited (tampered);
4. tampered: content or self-link broken (fields or hash columns edited in place);
5. each broken prev between neighbours: explained by a tampered hash column on either side;
   else inserted (a fork: the prev is another row's hash); else re-sealed (the predecessor
   is self-consistent, the prev a hash no row has); else part of the predecessor's tampering;
6. genesis mismatch at seq 1; deleted: one finding per missing seq;
7. checkpoints: truncated (the chain ends before one) and rewritten (the row at its seq has
   another hash);
8. meta_tampered: description or metadata no longer hash to the row's ``meta_hash`` (outside
   the chain: a row without one leaves them "not proven").

A row moved and edited is put back where both its links place it (one finding); a second row
at the head that fits as well as the first, a tampered head and a gap wider than the chain
say in their message what cannot be told.

Without a checkpoint a fully re-hashed history, a re-hashed head or a truncated tail cannot be
seen; the coverage says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from ledger_audit.checks.chain_hashes import (
    CHUNK_ROWS,
    META_COLUMNS,
    REFERENCE,
    VECTORISED,
    VERSION_KEY,
    ChainHasher,
)
from ledger_audit.findings import (
    CheckResult,
    Coverage,
    RuleId,
    Severity,
    empty_findings,
    findings_from,
    sort_findings,
)
from ledger_audit.gather import one_chunk
from ledger_audit.schema.lach1 import ALGORITHM, Checkpoint, genesis
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec

CHECK = "chain"
GAP_LIMIT = 1_000
"""A gap of more missing seqs than this is one ``chain.deleted`` finding for the whole range
(a seq edited to a huge number must not flood the findings)."""

_MOVE_ROUNDS = 4
"""Rounds of guessing where moved rows were sealed, each from the rows placed so far."""
_CHAIN_FIELDS = ("chain_seq", "chain_prev_hash", "content_hash", "chain_hash")
_L = "ledger_id"
_SHORT = 12
_STORED = {
    "transaction_id": "transaction_id",
    "version": "version",
    "prev": "chain_prev_hash",
    "content": "content_hash",
    "chain": "chain_hash",
}
"""Values of a row gathered from the transactions frame by its index, and their columns."""
_COMPARE_ROWS = 1_000_000
"""Rows whose prev is compared with their predecessor's chain_hash at once."""


@dataclass(frozen=True, slots=True)
class LedgerChain:
    """What verifying one ledger's chain established.

    Attributes:
        ledger_id: the ledger.
        rows_checked: its transaction versions examined (chained or not).
        first_broken_seq: the lowest chain_seq any finding points at (None: none does).
        counts: findings per rule, as (rule id, count), rules in catalogue order.
        recomputed_head: (seq, link(stored prev, recomputed content)) of the highest-seq row.
        stored_head: (seq, stored chain_hash) of that row.
        checkpoint: the position this audit saw, for the next audit to extend (None: no
            chained rows). It records the stored head even when the chain is broken: the
            findings say what is wrong with it, the next audit checks nothing changes behind it.
        unproven: what this verification could not establish, one sentence each.
    """

    ledger_id: str
    rows_checked: int
    first_broken_seq: int | None
    counts: tuple[tuple[RuleId, int], ...]
    recomputed_head: tuple[int, str] | None
    stored_head: tuple[int, str] | None
    checkpoint: Checkpoint | None
    unproven: tuple[str, ...]

    @property
    def intact(self) -> bool:
        """True when no finding was raised for this ledger."""
        return not self.counts

    def count(self, rule: RuleId) -> int:
        """How many findings of ``rule`` this ledger has."""
        return dict(self.counts).get(rule, 0)


@dataclass(frozen=True, slots=True, eq=False)
class ChainReport:
    """One verification run over every lach/1 ledger.

    Attributes:
        ledgers: one summary per verified (lach/1) ledger, sorted by ledger id.
        findings: every chain finding (FINDINGS_SCHEMA), canonical order.
        rows_checked: transaction versions of lach/1 ledgers examined.
        unproven: sentences about what was not verified at all (unchained ledgers, ...).
    """

    ledgers: tuple[LedgerChain, ...]
    findings: pl.DataFrame
    rows_checked: int
    unproven: tuple[str, ...]

    def ledger(self, ledger_id: str) -> LedgerChain:
        """The summary of one ledger (KeyError if it was not verified)."""
        for chain in self.ledgers:
            if chain.ledger_id == ledger_id:
                return chain
        raise KeyError(ledger_id)


def checkpoint_of(report: ChainReport) -> tuple[Checkpoint, ...]:
    """The checkpoints this audit vouches for, one per chained ledger, for the next audit."""
    return tuple(chain.checkpoint for chain in report.ledgers if chain.checkpoint is not None)


def check_chain(frames: LedgerFrames, spec: VerifySpec) -> CheckResult:
    """The ``chain`` check: :func:`verify_chain` over the frames and ``spec.checkpoints``."""
    report = verify_chain(frames.transactions, frames.entries, frames.ledgers, spec.checkpoints)
    return chain_result(frames, report)


def chain_result(frames: LedgerFrames, report: ChainReport) -> CheckResult:
    """The ``chain`` check's result for a verification of ``frames`` (any hasher)."""
    return report_result(report, unproven_rules(frames.transactions, report))


def report_result(report: ChainReport, rules: tuple[RuleId, ...]) -> CheckResult:
    """The ``chain`` check's result from a report; ``rules``: those it could not test.

    A streamed verification has no frames to look at: it counts what ``unproven_rules``
    reads from them as the rows pass.
    """
    scope = "; ".join(_chain_scope(c) for c in report.ledgers)
    unproven = (*report.unproven, *(s for c in report.ledgers for s in c.unproven))
    coverage = Coverage(
        checked=report.rows_checked,
        unit="transaction versions",
        scope=scope or "no lach/1 ledger",
        unproven=unproven,
        unproven_rules=rules,
    )
    return CheckResult(CHECK, report.findings, coverage, checkpoints=checkpoint_of(report))


def unproven_rules(transactions: pl.DataFrame, report: ChainReport) -> tuple[RuleId, ...]:
    """``chain.meta_tampered`` when some verified row has no meta_hash to check."""
    verified = [c.ledger_id for c in report.ledgers]
    rows = transactions.filter(pl.col(_L).is_in(verified))
    if rows.height == 0 or rows.get_column("meta_hash").null_count():
        return (RuleId.CHAIN_META_TAMPERED,)
    return ()


def _chain_scope(chain: LedgerChain) -> str:
    """``ledger demo, seq 1..N, first broken link at seq 7, recomputed head seq N <hash>``."""
    text = f"ledger {chain.ledger_id}, seq 1..{chain.stored_head[0] if chain.stored_head else 0}"
    if chain.first_broken_seq is None:
        text += ", no broken link"
    else:
        text += f", first broken link at seq {chain.first_broken_seq}"
    if chain.recomputed_head is not None:
        seq, digest = chain.recomputed_head
        text += f", recomputed head seq {seq} {digest}"
    return text


def verify_chain_reference(
    transactions: pl.DataFrame,
    entries: pl.DataFrame,
    ledgers: pl.DataFrame,
    checkpoints: tuple[Checkpoint, ...] = (),
) -> ChainReport:
    """:func:`verify_chain` with every hash computed by ``lach1`` one row at a time (slow)."""
    return verify_chain(transactions, entries, ledgers, checkpoints, reference=True)


def verify_chain(
    transactions: pl.DataFrame,
    entries: pl.DataFrame,
    ledgers: pl.DataFrame,
    checkpoints: tuple[Checkpoint, ...] = (),
    *,
    reference: bool = False,
    hasher: ChainHasher | None = None,
) -> ChainReport:
    """Verify the chain of every lach/1 ledger; see the module docstring for the classes.

    Args:
        transactions: TRANSACTIONS frame (any row order).
        entries: ENTRIES frame (amount Int64 or Decimal(38, 0)).
        ledgers: LEDGERS frame: which ledgers are chained.
        checkpoints: earlier audits' positions the chains must extend.
        reference: hash with ``lach1`` row by row instead of the vectorised path.
        hasher: another way to hash (Spark's, ``ledger_audit.spark.chain``); wins over
            ``reference``.
    """
    if hasher is None:
        hasher = REFERENCE if reference else VECTORISED
    algorithms = algorithms_of(ledgers)
    chained_ids = sorted(lid for lid, algorithm in algorithms.items() if algorithm == ALGORITHM)
    chained = pl.col(_L).is_in(chained_ids)
    everything = transactions.select(chained.fill_null(value=False).all()).item()
    rows = transactions if everything else transactions.filter(chained)  # no copy if all
    run = _Run(rows, entries, hasher, chained_ids)
    metas, meta_counts = _meta(rows, hasher)
    parts = [*run.classify(), *run.check_checkpoints(checkpoints), metas]
    findings = sort_findings(pl.concat([p.collect() for p in parts])) if parts else empty_findings()
    heads = run.heads()
    summaries = tuple(
        run.summary(lid, findings, checkpoints, heads, meta_counts.get(lid, (0, 0)))
        for lid in chained_ids
    )
    return ChainReport(
        ledgers=summaries,
        findings=findings,
        rows_checked=rows.height,
        unproven=_skipped(transactions, algorithms),
    )


def algorithms_of(ledgers: pl.DataFrame) -> dict[str, str | None]:
    """Each ledger's ``chain_algorithm`` (the first row of a ledger listed twice)."""
    return dict(ledgers.select(_L, "chain_algorithm").unique(_L, keep="first").iter_rows())


def _skipped(transactions: pl.DataFrame, algorithms: dict[str, str | None]) -> tuple[str, ...]:
    return skipped_ledgers(dict(transactions.group_by(_L).len().iter_rows()), algorithms)


def skipped_ledgers(
    counts: dict[str | None, int], algorithms: dict[str, str | None]
) -> tuple[str, ...]:
    """What was not verified, per ledger, from the rows per ledger id and the algorithms."""
    out = []
    for lid in sorted(set(algorithms) | {k for k in counts if k is not None}):
        algorithm, n = algorithms.get(lid, ALGORITHM), counts.get(lid, 0)
        if lid not in algorithms:
            out.append(f"ledger {lid} is not in the ledgers table: its {n} rows were not verified")
        elif algorithm is None:
            out.append(
                f"ledger {lid} is not chained (chain_algorithm NULL): nothing about its "
                f"{n} rows is proven by a hash chain"
            )
        elif algorithm != ALGORITHM:
            out.append(
                f"ledger {lid} uses chain algorithm {algorithm!r}, not {ALGORITHM}: its "
                f"{n} rows were not verified"
            )
    return tuple(out)


def _meta(
    rows: pl.DataFrame, hasher: ChainHasher
) -> tuple[pl.LazyFrame, dict[str, tuple[int, int]]]:
    """``chain.meta_tampered`` findings, and per ledger (rows, rows with a meta_hash).

    One finding per row whose description or metadata no longer hash to its meta_hash. A
    row without a meta_hash is not checked (its ledger's coverage says so). The finding is
    critical although the money may be intact: the row was edited behind the writer's back.
    """
    has = pl.col("meta_hash").is_not_null()
    # the flag first: evaluated inside the aggregation, it gathered every row's meta_hash
    # per group (2.5 GiB at 10M rows)
    flags = rows.select(_L, has.alias("_has"))
    tally = flags.group_by(_L).agg(pl.len().alias("_n"), pl.col("_has").sum().alias("_m"))
    counts = {lid: (int(n), int(m)) for lid, n, m in tally.iter_rows()}
    # A slice at a time, only the columns a finding reads: neither the meta payloads and
    # hashes of every row nor a copy of the rows ever exist at once.
    held = rows.select(*VERSION_KEY, "chain_seq", *META_COLUMNS, "meta_hash")
    edited = pl.concat(
        [
            held.clear().with_columns(calc=pl.lit(None, pl.String())),
            *(
                part.with_columns(hasher.metas(part).alias("calc")).filter(
                    pl.col("calc") != pl.col("meta_hash")
                )
                for part in (whole.filter(has) for whole in held.iter_slices(CHUNK_ROWS))
            ),
        ]
    )
    finding = _finding(
        edited,
        RuleId.CHAIN_META_TAMPERED,
        pl.format(
            "{}: description or metadata changed: they hash to {}, its meta_hash is {} "
            "(meta_hash is outside the chain: the sealed fields may be intact)",
            _row(),
            _short("calc"),
            _short("meta_hash"),
        ),
        expected=pl.col("calc"),
        actual=pl.col("meta_hash"),
    )
    return finding, counts


def _short(column: str) -> pl.Expr:
    return pl.col(column).str.slice(0, _SHORT).fill_null("null")


def _row(prefix: str = "") -> pl.Expr:
    """``tx-1 v0`` for the row whose columns start with ``prefix``."""
    return pl.format("{} v{}", pl.col(f"{prefix}transaction_id"), pl.col(f"{prefix}version"))


def _finding(
    rows: pl.DataFrame,
    rule: RuleId,
    message: pl.Expr,
    expected: pl.Expr | None = None,
    actual: pl.Expr | None = None,
) -> pl.LazyFrame:
    severity = Severity.HIGH if rule is RuleId.CHAIN_UNCHAINED else Severity.CRITICAL
    return findings_from(
        rows.lazy(),
        rule=rule,
        severity=severity,
        check=CHECK,
        table="transactions",
        message=message,
        expected=expected,
        actual=actual,
    )


class _Run:
    """The state of one verification: per-row signals, then one method per class of event.

    Memory: every row is held only as a light record (its index ``_i`` in ``rows``, ledger,
    seq, and the content/self-link/chained flags); the recomputed hashes are compared chunk
    by chunk and kept only where they differ from the stored ones. The stored hashes, ids and
    recomputed values of the few rows a finding needs are gathered from ``rows`` by ``_i``.
    """

    def __init__(
        self,
        rows: pl.DataFrame,
        entries: pl.DataFrame,
        hasher: ChainHasher,
        ledger_ids: list[str],
    ) -> None:
        self.rows = rows
        self.entries = entries
        self.hasher = hasher
        self.ledger_ids = ledger_ids
        self.geneses = pl.DataFrame(
            {_L: ledger_ids, "_genesis": [genesis(lid) for lid in ledger_ids]},
            schema={_L: pl.String(), "_genesis": pl.String()},
        )
        complete = pl.all_horizontal(pl.col(c).is_not_null() for c in _CHAIN_FIELDS)
        self.complete = rows.select(complete.alias("chained")).to_series()
        cok, lok = self._hash_signals()
        light = rows.select(
            pl.int_range(pl.len(), dtype=pl.UInt32()).alias("_i"),
            _L,
            pl.col("chain_seq").alias("seq"),
        ).with_columns(
            chained=self.complete,
            cok=cok | ~self.complete,
            lok=lok | ~self.complete,
        )
        self.loose = rows.filter(~self.complete).select(
            *VERSION_KEY,
            pl.col("chain_seq").alias("seq"),
            pl.col("chain_prev_hash").alias("prev"),
            pl.col("content_hash").alias("content"),
            pl.col("chain_hash").alias("chain"),
        )
        # Chained rows first, then the loose ones, each in frame order (ties in _duplicates).
        self.state = light.filter(pl.col("seq").is_not_null()).sort(_L, "seq", maintain_order=True)
        del light
        self.main = self.state
        self.chain_view = self.state  # rows in sealed order, with ``oseq``
        self.forks = pl.Series("_i", [], pl.UInt32())  # rows found inserted (a fork)
        self.relinked: set[tuple[str, int]] = set()  # moved and edited (see ``_relink``)
        counts = pl.DataFrame({_L: rows.get_column(_L), "chained": self.complete})
        per_ledger = counts.group_by(_L).agg(pl.len(), pl.col("chained").sum())
        self.row_counts: dict[str, int] = dict(per_ledger.select(_L, "len").iter_rows())
        self.chained_rows: dict[str, int] = dict(per_ledger.select(_L, "chained").iter_rows())

    def _hash_signals(self) -> tuple[pl.Series, pl.Series]:
        """Per row: content_hash and chain_hash are the recomputed ones (False: unchained).

        Sets ``self.mismatch``: (``_i``, ``calc``, ``self_link``) of the chained rows where
        either differs; elsewhere calc is content_hash and self_link chain_hash.
        """
        # A row missing a chain field is not hashed: without its seq it has no payload.
        hashed = self.rows.with_columns(
            pl.when(self.complete).then(pl.col("chain_seq")).alias("chain_seq")
        )
        prev = hashed.get_column("chain_prev_hash")
        content = hashed.get_column("content_hash")
        chain = hashed.get_column("chain_hash")
        cok: list[pl.Series] = []
        lok: list[pl.Series] = []
        side: list[pl.DataFrame] = []
        offset = 0
        for calc in self.hasher.content_chunks(hashed, self.entries):
            n = calc.len()
            chunk = pl.DataFrame(
                {
                    "calc": calc,
                    "self_link": self.hasher.links(prev.slice(offset, n), content.slice(offset, n)),
                    "content": content.slice(offset, n),
                    "chain": chain.slice(offset, n),
                    "chained": self.complete.slice(offset, n),
                }
            ).with_columns(
                cok=(pl.col("calc") == pl.col("content")).fill_null(value=False),
                lok=(pl.col("self_link") == pl.col("chain")).fill_null(value=False),
            )
            cok.append(chunk.get_column("cok"))
            lok.append(chunk.get_column("lok"))
            differs = pl.col("chained") & ~(pl.col("cok") & pl.col("lok"))
            side.append(
                chunk.with_row_index("_i", offset).filter(differs).select("_i", "calc", "self_link")
            )
            offset += n
        if offset != self.rows.height:
            msg = f"hashed {offset} of {self.rows.height} rows"
            raise RuntimeError(msg)
        schema = {"_i": pl.UInt32(), "calc": pl.String(), "self_link": pl.String()}
        self.mismatch = pl.concat([pl.DataFrame(schema=schema), *side]).with_columns(
            _hit=pl.lit(value=True)
        )
        if not cok:
            return pl.Series("cok", [], pl.Boolean()), pl.Series("lok", [], pl.Boolean())
        return pl.concat(cok), pl.concat(lok)

    def _with(
        self,
        frame: pl.DataFrame,
        names: Iterable[str],
        *,
        index: str = "_i",
        prefix: str = "",
    ) -> pl.DataFrame:
        """``frame`` plus the named values of the row at ``index`` (null index: null).

        Names: transaction_id, version, prev, content, chain (stored), calc, self_link
        (recomputed), each added as ``prefix`` + name.
        """
        idx = frame.get_column(index)
        stored = {n: self.rows.get_column(c).gather(idx) for n, c in _STORED.items()}
        out = [stored[n].alias(prefix + n) for n in names if n in _STORED]
        derived = [n for n in names if n in {"calc", "self_link"}]
        if derived:
            side = (
                idx.alias("_i")
                .to_frame()
                .join(self.mismatch, on="_i", how="left", maintain_order="left")
            )
            values = side.with_columns(
                _chained=self.complete.gather(idx),
                _content=stored["content"],
                _chain=stored["chain"],
            )
            fallback = {"calc": "_content", "self_link": "_chain"}
            out.extend(
                values.select(
                    pl.when(~pl.col("_chained"))
                    .then(pl.lit(None, pl.String()))
                    .when(pl.col("_hit"))
                    .then(pl.col(n))
                    .otherwise(pl.col(fallback[n]))
                    .alias(prefix + n)
                ).to_series()
                for n in derived
            )
        return frame.with_columns(out)

    def _where(self, frame: pl.DataFrame, column: str, values: pl.Series) -> pl.DataFrame:
        """The rows of ``frame`` (its order) whose stored ``column`` is one of ``values``."""
        stored = self.rows.get_column(_STORED[column])
        hits = stored.is_in(values.drop_nulls().unique().implode()).fill_null(value=False)
        sub = frame.join(
            hits.arg_true().alias("_i").to_frame(), on="_i", how="semi", maintain_order="left"
        )
        return self._with(sub, (column,))

    # --- the classes ----------------------------------------------------------------

    def classify(self) -> list[pl.LazyFrame]:
        """Every finding except the checkpoint ones, in class order."""
        out = [self._unchained(), *self._duplicates()]
        moved_parts, oseq = self._moved()
        out.extend(moved_parts)
        view = self._sealed_order(oseq)
        self.chain_view = view
        detail = self._detail(view)
        links = self._links(detail)  # first: a forked row is inserted, not also tampered
        out.append(self._tampered(detail))
        out.extend(links)
        out.append(self._deleted(detail))
        return out

    def _unchained(self) -> pl.LazyFrame:
        missing = pl.concat_str(
            [
                pl.when(pl.col(c).is_null()).then(pl.lit(c))
                for c in ("chain_seq", "chain_prev_hash", "content_hash", "chain_hash")
            ],
            separator=", ",
            ignore_nulls=True,
        )
        loose = self.loose.rename(
            {"seq": "chain_seq", "prev": "chain_prev_hash", "content": "content_hash"}
        ).rename({"chain": "chain_hash"})
        return _finding(
            loose,
            RuleId.CHAIN_UNCHAINED,
            pl.format(
                "{} of lach/1 ledger {} has no {}: it is outside the chain",
                _row(),
                pl.col(_L),
                missing,
            ),
            expected=pl.lit("all four chain fields"),
            actual=pl.format("null {}", missing),
        )

    def _duplicates(self) -> list[pl.LazyFrame]:
        state = self.state
        dup = (pl.col("seq") == pl.col("seq").shift(1).over(_L)) | (
            pl.col("seq") == pl.col("seq").shift(-1).over(_L)
        )
        flags = state.select(dup.fill_null(value=False)).to_series()
        if not flags.any():
            return []
        group = state.filter(flags)  # the rows sharing their seq with another
        keys = group.select(_L, "seq").unique()
        around = pl.concat(
            [keys.with_columns(pl.col("seq") - 1), keys.with_columns(pl.col("seq") + 1)]
        ).unique()
        near = self._with(state.join(around, on=[_L, "seq"], how="semi"), ("chain", "prev"))
        fits = (
            near.select(_L, (pl.col("seq") + 1).alias("seq"), pl.col("chain").alias("prev"))
            .unique()
            .with_columns(_fits=pl.lit(value=True))
        )
        linked = (
            near.select(_L, (pl.col("seq") - 1).alias("seq"), pl.col("prev").alias("chain"))
            .unique()
            .with_columns(_linked=pl.lit(value=True))
        )
        scored = (
            self._with(group, ("transaction_id", "version", "prev", "chain"))
            .join(self.geneses, on=_L, how="left")
            .join(fits, on=[_L, "seq", "prev"], how="left", nulls_equal=False)
            .join(linked, on=[_L, "seq", "chain"], how="left", nulls_equal=False)
            .with_columns(
                _score=pl.col("_linked").fill_null(value=False).cast(pl.Int8()) * 4
                + (
                    pl.col("_fits").fill_null(value=False)
                    | ((pl.col("seq") == 1) & (pl.col("prev") == pl.col("_genesis")))
                ).cast(pl.Int8())
                * 2
                + (pl.col("cok") & pl.col("lok") & pl.col("chained")).cast(pl.Int8())
            )
            .sort(
                [_L, "seq", "_score", "transaction_id", "version", "chained", "_i"],
                descending=[False, False, True, False, False, True, False],
            )
            .with_columns(_rank=pl.int_range(pl.len()).over(_L, "seq"))
        )
        kept = scored.filter(pl.col("_rank") == 0).select(state.columns)
        self.state = self.main = pl.concat([state.filter(~flags), kept]).sort(_L, "seq")
        mains = scored.filter(pl.col("_rank") == 0).select(
            _L,
            "seq",
            pl.col("transaction_id").alias("m_transaction_id"),
            pl.col("version").alias("m_version"),
            pl.col("_score").alias("m_score"),
        )
        extras = (
            scored.filter(pl.col("_rank") > 0)
            .join(mains, on=[_L, "seq"], how="left")
            .rename({"seq": "chain_seq"})
        )
        return [
            _finding(
                extras,
                RuleId.CHAIN_INSERTED,
                pl.concat_str(
                    pl.format(
                        "{} is a second row at seq {}: the chain runs through {}",
                        _row(),
                        pl.col("chain_seq"),
                        _row("m_"),
                    ),
                    pl.when(pl.col("_score") == pl.col("m_score"))
                    .then(
                        pl.lit(
                            ", though both fit the chain equally (nothing links to either): "
                            "which one was inserted cannot be told; the lower id is kept"
                        )
                    )
                    .otherwise(pl.lit("")),
                ),
                expected=pl.lit("one row per seq"),
                actual=pl.format("{} and {}", _row("m_"), _row()),
            )
        ]

    def _moved(self) -> tuple[list[pl.LazyFrame], pl.DataFrame]:
        """Rows whose content matches another seq: reordered cycles and edited seqs."""
        main = self.main
        empty = pl.DataFrame(schema={_L: pl.String(), "seq": pl.Int64(), "oseq": pl.Int64()})
        bad = main.filter(~pl.col("cok"))
        if bad.height == 0:
            return [], empty
        bad = self._with(bad, ("transaction_id", "version", "prev", "content", "chain"))
        # Only main rows whose chain (prev) is a bad row's prev (chain) can be joined to one.
        by_chain = (
            self._where(main, "chain", bad.get_column("prev"))
            .select(_L, "chain", pl.col("seq").alias("_cand"))
            .unique([_L, "chain"], keep="first", maintain_order=True)
        )
        by_prev = (
            self._where(main, "prev", bad.get_column("chain"))
            .select(_L, "prev", pl.col("seq").alias("_cand"))
            .unique([_L, "prev"], keep="first", maintain_order=True)
        )
        after = bad.join(by_chain, left_on=[_L, "prev"], right_on=[_L, "chain"]).with_columns(
            pl.col("_cand") + 1
        )
        before = bad.join(by_prev, left_on=[_L, "chain"], right_on=[_L, "prev"]).with_columns(
            pl.col("_cand") - 1
        )
        first = bad.join(
            self.geneses, left_on=[_L, "prev"], right_on=[_L, "_genesis"]
        ).with_columns(_cand=pl.lit(1, pl.Int64()))
        cols = [*VERSION_KEY, "seq", "content", "_cand"]
        cands = (
            pl.concat([f.select(cols) for f in (after, before, first)])
            .filter((pl.col("_cand") != pl.col("seq")) & (pl.col("_cand") >= 1))
            .unique(maintain_order=True)
        )
        verified = self._verify_candidates(cands)
        for _ in range(_MOVE_ROUNDS):
            more = self._next_candidates(bad, verified)
            if more.height == 0:
                break
            verified = pl.concat([verified, self._verify_candidates(more)])
        moves: dict[tuple[str, int], int] = {}
        for lid, seq, cand in verified.select(_L, "seq", "_cand").iter_rows():
            moves.setdefault((lid, seq), cand)
        targets = pl.DataFrame(
            [(lid, t) for (lid, _), t in moves.items()],
            schema={_L: pl.String(), "seq": pl.Int64()},
            orient="row",
        )
        occupied = {
            (lid, seq)
            for lid, seq in targets.join(
                main.select(_L, "seq"), on=[_L, "seq"], how="semi"
            ).iter_rows()
        }
        cycles, edited = _resolve_moves(moves, occupied)
        self._relink(after, before, main=main, moves=moves, cycles=cycles, edited=edited)
        oseq = pl.DataFrame(
            [(lid, s, moves[(lid, s)]) for cycle in cycles for lid, s in cycle]
            + [(lid, s, t) for (lid, s), t in edited.items()],
            schema=empty.schema,
            orient="row",
        )
        return [self._reordered(cycles), self._seq_edited(edited)], oseq

    def _relink(
        self,
        after: pl.DataFrame,
        before: pl.DataFrame,
        *,
        main: pl.DataFrame,
        moves: dict[tuple[str, int], int],
        cycles: list[list[tuple[str, int]]],
        edited: dict[tuple[str, int], int],
    ) -> None:
        """Rows moved to another seq and edited as well: placed by both their links.

        A row whose prev is the hash of the row at seq c-1 and whose hash the row at c+1
        links to was sealed at c. When c is empty it was moved from there, whatever else was
        edited (its content, sealed with c, cannot match where it is now): one finding, not a
        gap at c, a jump to where it went and a tampered row. Added to ``edited``; its keys
        go into ``self.relinked``.
        """
        cols = [*VERSION_KEY, "seq", "_cand"]
        both = (
            after.select(cols)
            .join(before.select(cols), on=cols, how="semi")
            .filter((pl.col("_cand") != pl.col("seq")) & (pl.col("_cand") >= 1))
            .join(main.select(_L, pl.col("seq").alias("_cand")), on=[_L, "_cand"], how="anti")
            .sort(_L, "seq", "_cand")
        )
        claimed = {(lid, moves[(lid, s)]) for cycle in cycles for lid, s in cycle}
        claimed |= {(lid, t) for (lid, _), t in edited.items()}
        for lid, seq, cand in both.select(_L, "seq", "_cand").iter_rows():
            if (lid, seq) in moves or (lid, seq) in edited or (lid, cand) in claimed:
                continue
            edited[(lid, seq)] = cand
            claimed.add((lid, cand))
            self.relinked.add((lid, seq))

    def _next_candidates(self, bad: pl.DataFrame, verified: pl.DataFrame) -> pl.DataFrame:
        """More guesses once some moved rows are placed: neighbours in sealed order.

        A row whose prev is a placed row's chain hash was sealed right after that row's
        sealed seq; one whose chain hash is a placed row's prev right before it; and the row
        now at a placed row's sealed seq may have been sealed where the placed row sits now
        (a swap next to the head, a rotation).
        """
        cols = [*VERSION_KEY, "seq", "content", "_cand"]
        placed = verified.select(_L, "seq", pl.col("_cand").alias("_to")).unique([_L, "seq"])
        hashes = self._with(
            placed.join(self.main.select(_L, "seq", "_i"), on=[_L, "seq"]), ("chain", "prev")
        )
        after = bad.join(
            hashes.select(_L, "chain", _cand=pl.col("_to") + 1),
            left_on=[_L, "prev"],
            right_on=[_L, "chain"],
        )
        before = bad.join(
            hashes.select(_L, "prev", _cand=pl.col("_to") - 1),
            left_on=[_L, "chain"],
            right_on=[_L, "prev"],
        )
        partners = bad.join(
            placed.select(_L, pl.col("_to").alias("seq"), pl.col("seq").alias("_cand")),
            on=[_L, "seq"],
        )
        tried = verified.select(_L, "seq")
        return (
            pl.concat([f.select(cols) for f in (after, before, partners)])
            .filter((pl.col("_cand") != pl.col("seq")) & (pl.col("_cand") >= 1))
            .join(tried, on=[_L, "seq"], how="anti")
            .unique(maintain_order=True)
        )

    def _verify_candidates(self, cands: pl.DataFrame) -> pl.DataFrame:
        """The candidates (row, ``_cand`` seq) whose content matches when sealed at ``_cand``."""
        cols = [*VERSION_KEY, "seq", "content", "_cand"]
        if cands.height == 0:
            return cands.select(cols)
        versions = cands.join(
            self.rows, left_on=[*VERSION_KEY, "seq"], right_on=[*VERSION_KEY, "chain_seq"]
        ).with_columns(pl.col("_cand").alias("chain_seq"))
        versions = versions.unique([*VERSION_KEY, "seq", "_cand"], maintain_order=True)
        recomputed = self.hasher.contents(versions, self.entries)
        return versions.filter(recomputed == versions["content"]).select(cols)

    def _reordered(self, cycles: list[list[tuple[str, int]]]) -> pl.LazyFrame:
        records = []
        for cycle in cycles:
            lid, low = min(cycle)
            others = sorted(s for _, s in cycle if s != low)
            records.append((lid, low, others))
        heads = pl.DataFrame(
            records,
            schema={_L: pl.String(), "seq": pl.Int64(), "others": pl.List(pl.Int64())},
            orient="row",
        )
        seqs = pl.DataFrame(
            [(lid, seq) for cycle in cycles for lid, seq in cycle],
            schema={_L: pl.String(), "seq": pl.Int64()},
            orient="row",
        )
        rows = self._with(
            self.main.join(seqs, on=[_L, "seq"], how="semi"), ("transaction_id", "version")
        ).select(*VERSION_KEY, "seq")
        named = rows.rename({c: f"o_{c}" for c in ("transaction_id", "version", "seq")})
        located = (
            heads.join(rows, on=[_L, "seq"], how="left")
            .with_columns(o_seq=pl.col("others").list.first())
            .join(named, on=[_L, "o_seq"], how="left")
            .rename({"seq": "chain_seq"})
        )
        many = pl.col("others").list.len() > 1
        return _finding(
            located,
            RuleId.CHAIN_REORDERED,
            pl.when(many)
            .then(
                pl.format(
                    "{} at seq {} and the rows at seq {} are out of sealed order: each one's "
                    "content was sealed at another's seq, and they all fit once put back",
                    _row(),
                    pl.col("chain_seq"),
                    pl.col("others").cast(pl.List(pl.String())).list.join(", "),
                )
            )
            .otherwise(
                pl.format(
                    "{} at seq {} and {} at seq {} are in each other's place: each one's "
                    "content was sealed at the other's seq, and both fit once swapped back",
                    _row(),
                    pl.col("chain_seq"),
                    _row("o_"),
                    pl.col("o_seq"),
                )
            ),
            expected=pl.lit("rows in the order they were sealed"),
            actual=pl.format("seq {} holds {}", pl.col("chain_seq"), _row()),
        )

    def _seq_edited(self, edited: dict[tuple[str, int], int]) -> pl.LazyFrame:
        moved = pl.DataFrame(
            [(lid, s, t) for (lid, s), t in edited.items()],
            schema={_L: pl.String(), "seq": pl.Int64(), "oseq": pl.Int64()},
            orient="row",
        )
        relinked = pl.DataFrame(
            sorted(self.relinked),
            schema={_L: pl.String(), "seq": pl.Int64()},
            orient="row",
        ).with_columns(_relinked=pl.lit(value=True))
        rows = (
            self._with(
                moved.join(self.main, on=[_L, "seq"], how="left"), ("transaction_id", "version")
            )
            .join(relinked, on=[_L, "seq"], how="left", maintain_order="left")
            .rename({"seq": "chain_seq"})
        )
        return _finding(
            rows,
            RuleId.CHAIN_TAMPERED,
            pl.when(pl.col("_relinked").fill_null(value=False))
            .then(
                pl.format(
                    "{}: chain_seq changed from {} to {}, and sealed fields changed too: its "
                    "links place it at seq {} (its prev is seq {}'s hash, seq {} links to it), "
                    "but its content does not recompute there",
                    _row(),
                    pl.col("oseq"),
                    pl.col("chain_seq"),
                    pl.col("oseq"),
                    pl.col("oseq") - 1,
                    pl.col("oseq") + 1,
                )
            )
            .otherwise(
                pl.format(
                    "{}: chain_seq changed from {} to {}: its sealed content matches seq {}",
                    _row(),
                    pl.col("oseq"),
                    pl.col("chain_seq"),
                    pl.col("oseq"),
                )
            ),
            expected=pl.format("chain_seq {}", pl.col("oseq")),
            actual=pl.format("chain_seq {}", pl.col("chain_seq")),
        )

    def _sealed_order(self, oseq: pl.DataFrame) -> pl.DataFrame:
        """Main rows in sealed order (moved rows back in place) with their predecessor.

        Light: per row its index, seqs and flags, the predecessor's (``q_``) ones, and
        ``_pneq``: the stored prev differs from the predecessor's stored chain_hash.
        """
        if oseq.height:
            view = self.main.join(oseq, on=[_L, "seq"], how="left").with_columns(
                moved=pl.col("oseq").is_not_null(),
                oseq=pl.col("oseq").fill_null(pl.col("seq")),
            )
            view = view.with_columns(cok=pl.col("cok") | pl.col("moved")).sort(_L, "oseq")
        else:  # nothing moved: main is already in (ledger, seq) order, one row per seq
            view = self.main.with_columns(oseq=pl.col("seq"), moved=pl.lit(value=False))
        # sorted by ledger: the row before, when it is of the same ledger (no window)
        same = pl.col(_L) == pl.col(_L).shift(1)
        pred = [
            pl.when(same).then(pl.col(c).shift(1)).alias(f"q_{c}")
            for c in ("_i", "seq", "oseq", "cok", "lok", "chained")
        ]
        view = view.with_columns(pred)
        prev = one_chunk(self.rows.get_column("chain_prev_hash"))
        chain = one_chunk(self.rows.get_column("chain_hash"))
        here, before = view.get_column("_i"), view.get_column("q__i")
        parts = [
            prev.gather(here.slice(k, _COMPARE_ROWS))
            != chain.gather(before.slice(k, _COMPARE_ROWS))
            for k in range(0, view.height, _COMPARE_ROWS)
        ]
        return view.with_columns(
            (pl.concat(parts) if parts else pl.Series([], dtype=pl.Boolean())).alias("_pneq")
        )

    def _detail(self, view: pl.DataFrame) -> pl.DataFrame:
        """The rows of the light view a finding may read, with everything findings read.

        Tampered rows, broken links, seq 1 and the rows after a gap, each with its stored and
        recomputed hashes, its predecessor's (``q_``), its ledger's genesis, and
        ``owner_seq``: the sealed seq of the first row whose chain_hash is its prev.
        """
        adjacent = pl.col("q_oseq") == pl.col("oseq") - 1
        both = pl.col("chained") & pl.col("q_chained").fill_null(value=False)
        need = (
            (pl.col("chained") & ~(pl.col("cok") & pl.col("lok")))
            | (adjacent & both & pl.col("_pneq"))
            | ((pl.col("oseq") == 1) & pl.col("chained"))
            | (pl.col("q_oseq").fill_null(0) + 1 <= pl.col("oseq") - 1)
        )
        rows = self._with(
            view.filter(need.fill_null(value=False)),
            ("transaction_id", "version", "prev", "content", "chain", "calc", "self_link"),
        )
        rows = self._with(
            rows,
            ("transaction_id", "version", "chain", "self_link", "content", "prev"),
            index="q__i",
            prefix="q_",
        )
        owners = (
            self._where(view.filter(pl.col("chained")), "chain", rows.get_column("prev"))
            .select(_L, pl.col("chain").alias("prev"), pl.col("oseq").alias("owner_seq"))
            .unique([_L, "prev"], keep="first", maintain_order=True)
        )
        return rows.join(self.geneses, on=_L, how="left").join(owners, on=[_L, "prev"], how="left")

    def _tampered(self, view: pl.DataFrame) -> pl.LazyFrame:
        """Rows whose content or self-link is broken, except rows already found inserted.

        At the head nothing links to the row, so an edited head and a forged row appended
        after it look the same: the message says so.
        """
        broken = view.filter(pl.col("chained") & ~(pl.col("cok") & pl.col("lok")))
        broken = broken.join(self.forks.to_frame(), on="_i", how="anti", maintain_order="left")
        heads = (
            self.chain_view.filter(pl.col("chained"))
            .group_by(_L)
            .agg(pl.col("oseq").max().alias("_head"))
        )
        rows = broken.join(heads, on=_L, how="left", maintain_order="left").rename(
            {"seq": "chain_seq"}
        )
        fields = ~pl.col("cok")
        column = ~pl.col("lok")
        at_head = pl.when(pl.col("oseq") == pl.col("_head")).then(
            pl.lit(
                " (the head: no row links to it, so it may as well be a forged row appended "
                "after the last sealed one; a checkpoint at it would tell)"
            )
        )
        message = pl.concat_str(self._tamper_text(fields, column), at_head.otherwise(pl.lit("")))
        return _finding(
            rows,
            RuleId.CHAIN_TAMPERED,
            message,
            expected=pl.when(fields).then(pl.col("calc")).otherwise(pl.col("self_link")),
            actual=pl.when(fields).then(pl.col("content")).otherwise(pl.col("chain")),
        )

    @staticmethod
    def _tamper_text(fields: pl.Expr, column: pl.Expr) -> pl.Expr:
        return (
            pl.when(fields & column)
            .then(
                pl.format(
                    "{}: sealed fields and hash columns changed: content recomputes to {}, "
                    "content_hash is {}, and chain_hash {} does not link prev and content",
                    _row(),
                    _short("calc"),
                    _short("content"),
                    _short("chain"),
                )
            )
            .when(fields)
            .then(
                pl.format(
                    "{}: sealed fields changed after sealing: content recomputes to {}, "
                    "content_hash is {}",
                    _row(),
                    _short("calc"),
                    _short("content"),
                )
            )
            .otherwise(
                pl.format(
                    "{}: chain_hash {} does not link its chain_prev_hash and content_hash "
                    "(expected {}): a hash column was edited",
                    _row(),
                    _short("chain"),
                    _short("self_link"),
                )
            )
        )

    def _links(self, view: pl.DataFrame) -> list[pl.LazyFrame]:
        """Broken prev links between neighbours, and seq 1's link to genesis."""
        adjacent = pl.col("q_oseq") == pl.col("oseq") - 1
        both = pl.col("chained") & pl.col("q_chained").fill_null(value=False)
        breaks = view.filter(adjacent & both & (pl.col("prev") != pl.col("q_chain")))
        first = view.filter(
            (pl.col("oseq") == 1) & pl.col("chained") & (pl.col("prev") != pl.col("_genesis"))
        )
        out: list[pl.LazyFrame] = []
        if breaks.height:
            relink = self.hasher.links(breaks["q_chain"], breaks["content"])
            breaks = breaks.with_columns(_relink=relink)
            q_column = ~pl.col("q_lok") & (pl.col("prev") == pl.col("q_self_link"))
            r_column = ~pl.col("lok") & (pl.col("_relink") == pl.col("chain"))
            open_ = breaks.filter(~q_column & ~r_column)
            fork = open_.filter(pl.col("owner_seq").is_not_null())
            self.forks = fork.get_column("_i")
            forged = pl.when(~pl.col("cok")).then(
                pl.lit(", and its content_hash does not match its fields (copied or forged)")
            )
            out.append(
                _finding(
                    fork.rename({"seq": "chain_seq"}),
                    RuleId.CHAIN_INSERTED,
                    pl.concat_str(
                        pl.format(
                            "{} at seq {} links to seq {}, not to seq {}: it was inserted (a fork)",
                            _row(),
                            pl.col("chain_seq"),
                            pl.col("owner_seq"),
                            pl.col("q_seq"),
                        ),
                        forged.otherwise(pl.lit("")),
                    ),
                    expected=pl.col("q_chain"),
                    actual=pl.col("prev"),
                )
            )
            resealed = open_.filter(
                pl.col("owner_seq").is_null() & pl.col("q_cok") & pl.col("q_lok")
            ).select(
                _L,
                pl.col("q_transaction_id").alias("transaction_id"),
                pl.col("q_version").alias("version"),
                pl.col("q_seq").alias("chain_seq"),
                pl.col("q_chain"),
                pl.col("prev"),
                pl.col("transaction_id").alias("s_transaction_id"),
                pl.col("version").alias("s_version"),
                pl.col("seq").alias("s_seq"),
            )
            out.append(
                _finding(
                    resealed,
                    RuleId.CHAIN_RESEALED,
                    pl.format(
                        "{} at seq {} was re-hashed: its hashes fit its fields, but seq {} ({}) "
                        "links to {}, a hash no row has",
                        _row(),
                        pl.col("chain_seq"),
                        pl.col("s_seq"),
                        _row("s_"),
                        _short("prev"),
                    ),
                    expected=pl.col("prev"),
                    actual=pl.col("q_chain"),
                )
            )
        if first.height:
            relink = self.hasher.links(first["_genesis"], first["content"])
            first = first.with_columns(_relink=relink).filter(
                pl.col("lok") | (pl.col("_relink") != pl.col("chain"))
            )
            out.append(
                _finding(
                    first.rename({"seq": "chain_seq"}),
                    RuleId.CHAIN_GENESIS_MISMATCH,
                    pl.format(
                        "{} at seq 1 links to {}, not to the genesis of ledger {} ({})",
                        _row(),
                        _short("prev"),
                        pl.col(_L),
                        _short("_genesis"),
                    ),
                    expected=pl.col("_genesis"),
                    actual=pl.col("prev"),
                )
            )
        return out

    def _deleted(self, view: pl.DataFrame) -> pl.LazyFrame:
        """Missing seqs, one finding each (a wide gap: one finding).

        A jump wider than the ledger's whole chain is named as such (a row moved far away),
        never as that many deleted rows.
        """
        lo = pl.col("q_oseq").fill_null(0) + 1
        hi = pl.col("oseq") - 1
        held = pl.DataFrame(
            list(self.chained_rows.items()),
            schema={_L: pl.String(), "_held": pl.Int64()},
            orient="row",
        )
        gaps = (
            view.filter(lo <= hi)
            .with_columns(_lo=lo, _hi=hi)
            .join(held, on=_L, how="left", maintain_order="left")
        )
        links_to = pl.when(pl.col("_lo") == 1).then(pl.col("_genesis")).otherwise(pl.col("q_chain"))
        before = (
            pl.when(pl.col("_lo") == 1)
            .then(pl.lit("genesis"))
            .otherwise(pl.format("seq {}", pl.col("q_oseq")))
        )
        state = (
            pl.when(pl.col("prev") == links_to)
            .then(pl.format("links straight to {} (a seq skipped when sealing)", before))
            .when(pl.col("owner_seq").is_not_null())
            .then(pl.format("links to seq {}", pl.col("owner_seq")))
            .otherwise(pl.lit("links to a hash no row has"))
        )
        width = pl.col("_hi") - pl.col("_lo") + 1
        past = width > pl.col("_held")
        wide = (width > GAP_LIMIT) | past
        missing = (
            gaps.with_columns(
                _state=state,
                chain_seq=pl.when(wide)
                .then(pl.concat_list(pl.col("_lo")))
                .otherwise(pl.int_ranges(pl.col("_lo"), pl.col("_hi") + 1)),
                s_transaction_id=pl.col("transaction_id"),
                s_version=pl.col("version"),
                s_seq=pl.col("seq"),
            )
            .explode("chain_seq")
            .select(
                _L,
                "chain_seq",
                "_lo",
                "_hi",
                "_state",
                "s_transaction_id",
                "s_version",
                "s_seq",
                wide.alias("_wide"),
                past.alias("_past"),
                "_held",
                "prev",
            )
        )
        return _finding(
            missing,
            RuleId.CHAIN_DELETED,
            pl.when(pl.col("_past"))
            .then(
                pl.format(
                    "no row after seq {} until seq {} ({}), a jump of {} seqs in a chain of {} "
                    "rows: more than the whole chain, so that row's chain_seq was moved, not "
                    "that many rows deleted; it {}",
                    pl.col("_lo") - 1,
                    pl.col("s_seq"),
                    _row("s_"),
                    pl.col("_hi") - pl.col("_lo") + 1,
                    pl.col("_held"),
                    pl.col("_state"),
                )
            )
            .when(pl.col("_wide"))
            .then(
                pl.format(
                    "seqs {}..{} are missing ({} rows): the next row, seq {} ({}), {}",
                    pl.col("_lo"),
                    pl.col("_hi"),
                    pl.col("_hi") - pl.col("_lo") + 1,
                    pl.col("s_seq"),
                    _row("s_"),
                    pl.col("_state"),
                )
            )
            .otherwise(
                pl.format(
                    "seq {} is missing: the next row, seq {} ({}), {}",
                    pl.col("chain_seq"),
                    pl.col("s_seq"),
                    _row("s_"),
                    pl.col("_state"),
                )
            ),
            expected=pl.format("a row at seq {}", pl.col("chain_seq")),
            actual=pl.lit("no row"),
        )

    # --- checkpoints and summaries --------------------------------------------------

    def heads(self) -> dict[str, tuple[int, str, str, str, str]]:
        """Per ledger: (seq, transaction_id, version text, stored chain_hash, prev) of the head."""
        view = self.chain_view.filter(pl.col("chained"))
        last = view.sort(_L, "oseq").group_by(_L, maintain_order=True).last()
        heads = self._with(last, ("transaction_id", "version", "chain", "prev"))
        return {
            row[_L]: (
                row["oseq"],
                row["transaction_id"],
                str(row["version"]),
                row["chain"],
                row["prev"],
            )
            for row in heads.iter_rows(named=True)
        }

    def check_checkpoints(self, checkpoints: Iterable[Checkpoint]) -> list[pl.LazyFrame]:
        """chain.truncated and chain.rewritten for each checkpoint."""
        cps = pl.DataFrame(
            [(c.ledger_id, c.seq, c.head_hash, c.row_count) for c in checkpoints],
            schema={
                _L: pl.String(),
                "cp_seq": pl.Int64(),
                "cp_hash": pl.String(),
                "cp_rows": pl.Int64(),
            },
            orient="row",
        )
        if cps.height == 0:
            return []
        view = self.chain_view.filter(pl.col("chained"))
        heads = view.group_by(_L).agg(pl.col("oseq").max().alias("head"))
        with_head = cps.join(heads, on=_L, how="left").with_columns(pl.col("head").fill_null(0))
        short = with_head.filter(pl.col("head") < pl.col("cp_seq")).with_columns(
            chain_seq=pl.col("head") + 1
        )
        truncated = _finding(
            short,
            RuleId.CHAIN_TRUNCATED,
            pl.format(
                "the chain of ledger {} ends at seq {}, but an earlier audit saw seq {} "
                "(head {}): {} sealed rows are gone from the tail",
                pl.col(_L),
                pl.col("head"),
                pl.col("cp_seq"),
                _short("cp_hash"),
                pl.col("cp_seq") - pl.col("head"),
            ),
            expected=pl.format("seq {} with chain_hash {}", pl.col("cp_seq"), pl.col("cp_hash")),
            actual=pl.format("head at seq {}", pl.col("head")),
        )
        seen = view.join(
            cps.select(_L, pl.col("cp_seq").alias("oseq")), on=[_L, "oseq"], how="semi"
        )
        at = with_head.join(
            self._with(seen, ("transaction_id", "version", "chain")).select(
                _L, "oseq", *VERSION_KEY[1:], "seq", "chain"
            ),
            left_on=[_L, "cp_seq"],
            right_on=[_L, "oseq"],
        ).filter(pl.col("chain") != pl.col("cp_hash"))
        rewritten = _finding(
            at.rename({"seq": "chain_seq"}),
            RuleId.CHAIN_REWRITTEN,
            pl.format(
                "{} at checkpoint seq {} has chain_hash {}, the checkpoint has {}: "
                "the history up to it was re-hashed",
                _row(),
                pl.col("cp_seq"),
                _short("chain"),
                _short("cp_hash"),
            ),
            expected=pl.col("cp_hash"),
            actual=pl.col("chain"),
        )
        return [truncated, rewritten]

    def summary(
        self,
        ledger_id: str,
        findings: pl.DataFrame,
        checkpoints: tuple[Checkpoint, ...],
        heads: dict[str, tuple[int, str, str, str, str]],
        meta: tuple[int, int] = (0, 0),
    ) -> LedgerChain:
        """The LedgerChain of one verified ledger."""
        mine = findings.filter(pl.col(_L) == ledger_id)
        by_rule = dict(mine.group_by("rule").len().iter_rows())
        counts = tuple((r, by_rule[r.value]) for r in RuleId if r.value in by_rule)
        first = mine.get_column("chain_seq").min()
        chained = self.chain_view.filter((pl.col(_L) == ledger_id) & pl.col("chained"))
        head = heads.get(ledger_id)
        stored = recomputed = checkpoint = None
        if head is not None:
            seq, tx, _, chain, prev = head
            stored = (seq, chain)
            at = chained.filter(pl.col("oseq") == seq)
            row = self._with(at, ("transaction_id", "calc")).filter(pl.col("transaction_id") == tx)
            link = self.hasher.links(pl.Series([prev]), row["calc"].head(1)).item()
            recomputed = (seq, link if isinstance(link, str) else "")
            checkpoint = Checkpoint(ledger_id, seq, chain, self.chained_rows.get(ledger_id, 0))
        unproven = ledger_unproven(
            ledger_id,
            stored[0] if stored else 0,
            tuple(c for c in checkpoints if c.ledger_id == ledger_id),
            mine,
            meta,
        )
        return LedgerChain(
            ledger_id=ledger_id,
            rows_checked=self.row_counts.get(ledger_id, 0),
            first_broken_seq=first if isinstance(first, int) else None,
            counts=counts,
            recomputed_head=recomputed,
            stored_head=stored,
            checkpoint=checkpoint,
            unproven=unproven,
        )


def _meta_unproven(ledger_id: str, meta: tuple[int, int]) -> str:
    """What checking ``meta_hash`` did not prove: (rows, rows with a meta_hash)."""
    rows, held = meta
    if held == 0:
        return (
            f"ledger {ledger_id}: no row has a meta_hash: description and metadata of its "
            f"{rows} rows are not proven"
        )
    text = (
        f"ledger {ledger_id}: description and metadata are checked against meta_hash, which is "
        "not sealed in the chain nor bound to its row: an edit that rewrites meta_hash too "
        "goes undetected"
    )
    if held < rows:
        text += f"; {rows - held} of {rows} rows have no meta_hash: theirs are not proven"
    return text


def ledger_unproven(
    ledger_id: str,
    head: int,
    checkpoints: tuple[Checkpoint, ...],
    findings: pl.DataFrame,
    meta: tuple[int, int] = (0, 0),
) -> tuple[str, ...]:
    """What one ledger's verification could not prove (meta_hash, checkpoints, the tail)."""
    out = [_meta_unproven(ledger_id, meta)]
    if not checkpoints:
        out.append(
            f"ledger {ledger_id}: no checkpoint from an earlier audit: a fully re-hashed "
            f"history, a re-hashed head or rows cut from the tail after seq {head} would "
            "go undetected"
        )
        return tuple(out)
    failed = set(
        findings.filter(
            pl.col("rule").is_in([RuleId.CHAIN_TRUNCATED.value, RuleId.CHAIN_REWRITTEN.value])
        )
        .get_column("rule")
        .to_list()
    )
    top = max(c.seq for c in checkpoints)
    if failed:
        out.append(
            f"ledger {ledger_id}: the chain does not extend the checkpoint(s) of an earlier "
            "audit (see the truncated/rewritten findings)"
        )
    else:
        out.append(
            f"ledger {ledger_id}: seq 1..{top} extends the checkpoint of an earlier audit "
            f"(unchanged since); seq {top + 1}..{head} rests on this chain alone: a re-hash "
            "of those rows or a cut tail would go undetected"
        )
    return tuple(out)


def _resolve_moves(
    moves: dict[tuple[str, int], int], occupied: set[tuple[str, int]]
) -> tuple[list[list[tuple[str, int]]], dict[tuple[str, int], int]]:
    """Split rows whose content matches another seq into cycles and edited seqs.

    A cycle (each row's sealed seq is held by the next) is a reordering. A row whose sealed
    seq is free, or freed by another accepted move, had its chain_seq edited. A row whose
    sealed seq holds a row that stays is left where it is (it is then plain tampered).
    """
    cycles: list[list[tuple[str, int]]] = []
    in_cycle: set[tuple[str, int]] = set()
    for start in sorted(moves):
        if start in in_cycle:
            continue
        path = [start]
        current = start
        while True:
            target = (current[0], moves[current])
            if target == start:
                cycles.append(path)
                in_cycle.update(path)
                break
            if target not in moves or target in path or target in in_cycle:
                break
            path.append(target)
            current = target
    edited: dict[tuple[str, int], int] = {}
    claimed: set[tuple[str, int]] = set()
    changed = True
    while changed:
        changed = False
        for key, seq in sorted(moves.items()):
            target = (key[0], seq)
            if key in in_cycle or key in edited or target in claimed:
                continue
            if target not in occupied or target in edited:
                edited[key] = seq
                claimed.add(target)
                changed = True
    return cycles, edited
