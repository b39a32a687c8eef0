"""The state of one mapped load: the relations as read, each row's first problem, helpers.

A problem is a short reason text per row (null: the row is fine). Every conversion and check
records its problems here; the rows left without one are the rows that load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.mapping import fields
from ledger_audit.sources.mapping.fields import reason_when
from ledger_audit.sources.mapping.relations import RelationRef, RelationSource
from ledger_audit.sources.mapping.spec import Field, Section, SourceMapping
from ledger_audit.sources.mapping.validate import check_against_catalogue

ROW = "__row"
"""1-based position of a row in its relation as read (files: the file's data row)."""
PROBLEM = "__problem"


@dataclass(slots=True, eq=False)
class Relation:
    """One relation as read, with its first problem per row (null: the row is fine)."""

    section: Section
    frame: pl.DataFrame
    label: str
    key_columns: list[str]
    problem: pl.Series

    @property
    def dtypes(self) -> dict[str, pl.DataType]:
        """The relation's columns and their dtypes as read."""
        return dict(self.frame.schema)

    def mark(self, problem: pl.Series) -> None:
        """Record ``problem`` (aligned with the frame) where a row has none yet."""
        self.problem = pl.select(pl.coalesce(pl.lit(self.problem), pl.lit(problem))).to_series()

    def mark_rows(self, rows: pl.Series, reason: str) -> None:
        """Record ``reason`` on the rows numbered ``rows``."""
        if rows.len() == 0:
            return
        self.mark(
            self.frame.select(
                pl.when(pl.col(ROW).is_in(rows.implode())).then(pl.lit(reason, pl.String))
            ).to_series()
        )

    def good(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows of ``frame`` (with ROW) whose source row has no problem.

        ROW numbers the relation's rows from 1, so each row's flag is one gather away (no
        join, and the order of ``frame`` is kept).
        """
        if self.problem.null_count() == self.problem.len():
            return frame  # no row has a problem (a count kept with the column): all good
        ok = self.problem.is_null()
        return frame.filter(pl.lit(ok).gather(pl.col(ROW).cast(pl.Int64) - 1))


def first_problem(checks: Sequence[pl.Expr]) -> pl.Expr:
    """The first of the problems ``checks`` that applies to a row (null: none)."""
    if not checks:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce(*checks)


class Build:
    """The state of one build: relations as read, scales, notes."""

    def __init__(self, mapping: SourceMapping, source: RelationSource) -> None:
        self.mapping = mapping
        self.source = source
        self.zone = mapping.ledger.timezone
        self.notes: list[str] = []
        self.relations: dict[RelationRef, Relation] = {}
        self.by_row = source.kind == "files"
        self.in_key_order: set[str] = set()
        """Canonical tables built in their KEYS order, as seen while finding repeated keys."""

    def read_all(self) -> None:
        """Check the mapping against the catalogue, then read each relation's mapped columns."""
        wanted = check_against_catalogue(self.mapping, self.source)
        keys = _key_columns(self.mapping)
        for section in self.mapping.sections():
            ref = section.relation
            if ref in self.relations:
                continue
            frame = self.source.read(ref, wanted[ref]).with_row_index(ROW, offset=1)
            label = f"{self.source.label} {'query' if ref.query else ref.name}"
            self.relations[ref] = Relation(
                section,
                frame,
                label,
                [c for c in keys.get(ref, []) if c in frame.columns],
                pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias(PROBLEM),
            )

    def rel(self, section: Section) -> Relation:
        """The relation ``section`` reads."""
        return self.relations[section.relation]

    def evaluate(
        self,
        rel: Relation,
        values: dict[str, pl.Expr],
        checks: Sequence[pl.Expr],
        stages: Sequence[Sequence[pl.Expr]] = (),
    ) -> pl.DataFrame:
        """``values`` per row (with ROW); each row's first problem is recorded in ``rel``.

        ``stages`` are helper columns added first, stage by stage (see ``fields.amount``).
        """
        frame = rel.frame.lazy()
        for stage in stages:
            frame = frame.with_columns(stage)
        out = frame.select(
            pl.col(ROW),
            *(expr.alias(name) for name, expr in values.items()),
            first_problem(checks).alias(PROBLEM),
        ).collect()
        rel.mark(out[PROBLEM])
        return out.drop(PROBLEM)

    def ledger(self, field: Field | None, dtypes: dict[str, pl.DataType]) -> fields.Read:
        """The ledger id of each row: its mapped column, or the mapping's ``[ledger] id``."""
        if field is None:
            return fields.Read(pl.lit(self.mapping.ledger.id, dtype=pl.String))
        read = fields.text(field, dtypes)
        problem = null_problem(read.value, field.key)
        both = problem if read.problem is None else pl.coalesce(read.problem, problem)
        return fields.Read(read.value, both)

    def asset_of(self, code: pl.Expr, scales: pl.DataFrame) -> pl.Expr:
        """The asset id ``CODE/scale`` of each row's currency code (null when unknown)."""
        fixed = self.mapping.assets.scale
        if fixed is not None:
            return pl.concat_str(code, pl.lit(f"/{fixed}"))
        if scales.height == 0:
            return pl.lit(None, dtype=pl.String)
        assets = scales.select(pl.concat_str("code", pl.lit("/"), pl.col("scale").cast(pl.String)))
        return fields.lookup(code, scales["code"], assets.to_series(), pl.String())

    def scale_of(self, code: pl.Expr, scales: pl.DataFrame) -> pl.Expr:
        """The scale of each row's currency code (null when unknown)."""
        fixed = self.mapping.assets.scale
        if fixed is not None:
            return pl.when(code.is_not_null()).then(pl.lit(fixed, pl.Int64))
        if scales.height == 0:
            return pl.lit(None, dtype=pl.Int64)
        return fields.lookup(code, scales["code"], scales["scale"], pl.Int64())


def _key_columns(mapping: SourceMapping) -> dict[RelationRef, list[str]]:
    """The source columns that name a row in rejections, per relation."""
    out: dict[RelationRef, list[str]] = {}

    def add(section: Section | None, *fields_: Field | None) -> None:
        if section is None:
            return
        names = out.setdefault(section.relation, [])
        for field in fields_:
            if field is not None and field.column is not None and field.column not in names:
                names.append(field.column)

    a, t, e = mapping.accounts, mapping.transactions, mapping.entries
    add(mapping.assets.section, mapping.assets.code)
    add(a.section, a.id)
    if e.row_id is not None:
        add(e.section, e.row_id)
    else:
        add(
            e.section,
            e.transaction_id,
            e.version,
            e.index,
            e.account,
            e.debit_account,
            e.credit_account,
            e.currency,
            e.amount,
        )
    add(t.section, t.id, t.version)
    if t.history is not None:
        add(t.history.section, t.history.transaction_id, t.history.at, t.history.order)
    if mapping.balances is not None:
        add(mapping.balances.section, mapping.balances.account, mapping.balances.currency)
    return out


def null_problem(value: pl.Expr, key: str) -> pl.Expr:
    """A problem where ``value`` is null: the field ``key`` needs a value."""
    return reason_when(value.is_null(), f"{key}: no value")


def _follows(keys: list[str]) -> pl.Expr:
    """Per row: its keys are >= the previous row's, compared left to right (row 1: true).

    Sources often hand rows over in key order (files written sorted, tables read in the
    order they were filled); all rows true says so without sorting. A null key compares to
    null, which counts as out of order (the general path then decides).
    """
    ordered: pl.Expr = pl.lit(value=True)
    for key in reversed(keys):
        before = pl.col(key).shift(1)
        ordered = (before < pl.col(key)) | ((before == pl.col(key)) & ordered)
    return ordered.fill_null(value=False) | (pl.int_range(pl.len()) == 0)


def mark_duplicates(rel: Relation, frame: pl.DataFrame, keys: list[str], what: str) -> bool:
    """Mark every good row whose ``keys`` repeat: which one is right cannot be told.

    Returns whether the good rows of ``frame`` were in ``keys`` order (seen on the way).
    """
    good = rel.good(frame.select(ROW, *keys))
    # One pass: whether the rows are in key order, and which equal their predecessor.
    same = pl.all_horizontal(pl.col(k) == pl.col(k).shift(1) for k in keys).fill_null(value=False)
    flagged = good.select(ROW, same.alias("_same"), _follows(keys).all().alias("_ordered"))
    if flagged.height < 2:  # noqa: PLR2004 - a pair is the smallest repeat
        return True
    ordered = bool(flagged["_ordered"][0])
    if ordered:
        # Rows in key order: a repeat is a row equal to its neighbour (no hashing).
        dup = flagged.filter(pl.col("_same") | pl.col("_same").shift(-1, fill_value=False))
    else:
        # A hash of the keys first: no repeated hash, no repeated key (one pass); only rows
        # whose hash repeats are compared exactly.
        suspects = good.filter(pl.struct(keys).hash(seed=0).is_duplicated())
        if suspects.height == 0:
            return ordered
        repeated = suspects.group_by(keys).len().filter(pl.col("len") > 1)
        dup = suspects.join(repeated.drop("len"), on=keys, how="semi", nulls_equal=True)
    rel.mark_rows(dup[ROW], f"{what}: the same {', '.join(keys)} on several rows")
    return ordered
