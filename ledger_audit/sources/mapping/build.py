"""Turn a user's relations into the six canonical tables, as raw frames ready for ``conform``.

Three phases, each over whole frames (no Python per row):

1. **Rows**: every relation is read and each mapped field converted (``fields``); a row with
   any problem (a value that cannot be represented exactly, a null where a value is needed,
   a currency without a scale) is marked with its first problem.
2. **Across rows**: among the remaining rows, duplicate ids, and transaction fields that
   differ between the rows of one transaction, mark every row involved (never keep one of
   them at random).
3. **Tables**: the canonical tables are derived from the unmarked rows only: transfers become
   two entries, history rows become versions, entries without a version belong to every
   version, accounts and assets are gathered.

Every marked row is reported under its relation and key (``source.rejected_row``); every
other row is loaded. What the mapping could not give (a chain, stored balances, effective
times...) is said in ``notes`` for the audit's coverage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.ledger_frames import REJECTION_SCHEMA, TableCount, empty_rejections
from ledger_audit.sources.mapping import fields
from ledger_audit.sources.mapping.relations import RelationRef, RelationSource
from ledger_audit.sources.mapping.spec import (
    EntryShape,
    Field,
    Section,
    SourceMapping,
    TransactionShape,
)
from ledger_audit.sources.mapping.validate import check_against_catalogue

ROW = "__row"
"""1-based position of a row in its relation as read (files: the file's data row)."""
_PROBLEM = "__problem"
_STATUS_RANK = {"pending": 0, "posted": 1, "archived": 2}


@dataclass(frozen=True, slots=True, eq=False)
class MappedTables:
    """The canonical tables as raw frames, the rejected source rows, counts and notes.

    Attributes:
        tables: canonical table name -> frame with exactly the FRAME_SCHEMAS columns.
        rejections: REJECTION_SCHEMA rows, one per rejected source row.
        counts: per relation read: source rows read, loaded and rejected.
        notes: what the audit cannot prove because the mapping could not give it.
    """

    tables: dict[str, pl.DataFrame]
    rejections: pl.DataFrame
    counts: tuple[TableCount, ...]
    notes: tuple[str, ...]


@dataclass(slots=True, eq=False)
class _Relation:
    """One relation as read, with its first problem per row (null: the row is fine)."""

    section: Section
    frame: pl.DataFrame
    label: str
    key_columns: list[str]
    problem: pl.Series

    @property
    def dtypes(self) -> dict[str, pl.DataType]:
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
        """The rows of ``frame`` (with ROW) whose source row has no problem."""
        ok = self.frame.select(pl.col(ROW), self.problem.is_null().alias("__ok"))
        return frame.join(ok, on=ROW, how="left", maintain_order="left").filter("__ok").drop("__ok")


def _when(condition: pl.Expr, reason: str) -> pl.Expr:
    return pl.when(condition).then(pl.lit(reason, dtype=pl.String))


def _first_problem(checks: Sequence[pl.Expr]) -> pl.Expr:
    if not checks:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce(*checks)


class _Build:
    """The state of one build: relations as read, scales, notes."""

    def __init__(self, mapping: SourceMapping, source: RelationSource) -> None:
        self.mapping = mapping
        self.source = source
        self.zone = mapping.ledger.timezone
        self.notes: list[str] = []
        self.relations: dict[RelationRef, _Relation] = {}
        self.by_row = source.kind == "files"

    def read_all(self) -> None:
        wanted = check_against_catalogue(self.mapping, self.source)
        keys = _key_columns(self.mapping)
        for section in self.mapping.sections():
            ref = section.relation
            if ref in self.relations:
                continue
            frame = self.source.read(ref, wanted[ref]).with_row_index(ROW, offset=1)
            label = f"{self.source.label} {'query' if ref.query else ref.name}"
            self.relations[ref] = _Relation(
                section,
                frame,
                label,
                [c for c in keys.get(ref, []) if c in frame.columns],
                pl.Series(_PROBLEM, [None] * frame.height, pl.String),
            )

    def rel(self, section: Section) -> _Relation:
        return self.relations[section.relation]

    def evaluate(
        self,
        rel: _Relation,
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
            _first_problem(checks).alias(_PROBLEM),
        ).collect()
        rel.mark(out[_PROBLEM])
        return out.drop(_PROBLEM)

    def ledger(self, field: Field | None, dtypes: dict[str, pl.DataType]) -> fields.Read:
        """The ledger id of each row: its mapped column, or the mapping's ``[ledger] id``."""
        if field is None:
            return fields.Read(pl.lit(self.mapping.ledger.id, dtype=pl.String))
        read = fields.text(field, dtypes)
        problem = _null(read.value, field.key)
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
        return code.replace_strict(
            scales["code"], assets.to_series(), default=None, return_dtype=pl.String
        )

    def scale_of(self, code: pl.Expr, scales: pl.DataFrame) -> pl.Expr:
        """The scale of each row's currency code (null when unknown)."""
        fixed = self.mapping.assets.scale
        if fixed is not None:
            return pl.when(code.is_not_null()).then(pl.lit(fixed, pl.Int64))
        if scales.height == 0:
            return pl.lit(None, dtype=pl.Int64)
        return code.replace_strict(
            scales["code"], scales["scale"], default=None, return_dtype=pl.Int64
        )


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


def _null(value: pl.Expr, key: str) -> pl.Expr:
    return _when(value.is_null(), f"{key}: no value")


def _duplicates(rel: _Relation, frame: pl.DataFrame, keys: list[str], what: str) -> None:
    """Mark every good row whose ``keys`` repeat: which one is right cannot be told."""
    good = rel.good(frame)
    # A hash of the keys first: no repeated hash, no repeated key (the common case, one pass);
    # only rows whose hash repeats are compared exactly.
    suspects = good.filter(pl.struct(keys).hash(seed=0).is_duplicated())
    if suspects.height == 0:
        return
    repeated = suspects.group_by(keys).len().filter(pl.col("len") > 1)
    if repeated.height == 0:
        return
    dup = suspects.join(repeated.drop("len"), on=keys, how="semi", nulls_equal=True)
    rel.mark_rows(dup[ROW], f"{what}: the same {', '.join(keys)} on several rows")


# --- phase 1: rows -----------------------------------------------------------------------


def _scales(build: _Build) -> pl.DataFrame:
    assets = build.mapping.assets
    schema = {"code": pl.String, "scale": pl.Int64}
    if assets.section is None:
        return pl.DataFrame(
            {"code": [c for c, _ in assets.scales], "scale": [s for _, s in assets.scales]},
            schema=schema,
        )
    rel = build.rel(assets.section)
    code = fields.text(assets.code, rel.dtypes)
    scale = fields.integer(assets.scale_field, rel.dtypes)
    out = build.evaluate(
        rel,
        {"code": code.value, "scale": scale.value},
        [
            *fields.problems(code, scale),
            _null(code.value, "assets.code"),
            _null(scale.value, "assets.scale"),
            _when(~scale.value.is_between(0, 38), "assets.scale: not between 0 and 38"),
        ],
    )
    _duplicates(rel, out, ["code"], "assets")
    return rel.good(out).select("code", "scale").sort("code")


Stages = tuple[tuple[pl.Expr, ...], ...]


def _merge(*parts: Stages) -> Stages:
    """Helper-column stages of several fields, stage by stage."""
    depth = max((len(p) for p in parts), default=0)
    return tuple(tuple(e for p in parts if i < len(p) for e in p[i]) for i in range(depth))


def _fits_int64(build: _Build, rel: _Relation, amount: Field, scales: pl.DataFrame) -> bool:
    """True when every value's text and the largest scale fit Int64 arithmetic (one pass)."""
    column = pl.col(str(amount.column))
    dtype = rel.dtypes[str(amount.column)]
    if isinstance(dtype, pl.Decimal):
        return False  # read from its integer value, no text: see fields.amount
    text = column if dtype == pl.String() else column.cast(pl.String, strict=False)
    longest = rel.frame.select(text.str.len_bytes().max()).item()
    fixed = build.mapping.assets.scale
    declared = scales["scale"].to_list()
    widest = fixed if fixed is not None else max(declared, default=0)
    if longest is None:
        return True
    return int(longest) + int(widest) <= fields.NARROW_DIGITS


def _money(
    build: _Build, rel: _Relation, amount: Field, currency: Field, scales: pl.DataFrame
) -> tuple[dict[str, pl.Expr], list[pl.Expr], Stages]:
    """Currency, asset id, magnitude and sign of a money field, with their problems."""
    code = fields.text(currency, rel.dtypes)
    scale = build.scale_of(code.value, scales)
    money = fields.amount(amount, rel.dtypes, scale, narrow=_fits_int64(build, rel, amount, scales))
    values = {
        "asset_id": build.asset_of(code.value, scales),
        "__magnitude": money.magnitude,
        "__negative": money.negative,
    }
    checks = [
        *fields.problems(code),
        _null(code.value, currency.key),
        _when(scale.is_null(), f"{currency.key}: currency has no scale in [assets]"),
        *([money.problem] if money.problem is not None else []),
        _null(pl.col(str(amount.column)), amount.key),
    ]
    return values, checks, money.stages


def _transaction_values(
    build: _Build, rel: _Relation, *, with_status: bool
) -> tuple[dict[str, pl.Expr], list[pl.Expr]]:
    t = build.mapping.transactions
    d = rel.dtypes
    tid = fields.text(t.id, d)
    reads = {
        "ledger_id": build.ledger(t.ledger_id, d),
        "transaction_id": tid,
        "pending_transaction_id": fields.text(t.pending_id, d),
        "reverses_transaction_id": fields.text(t.reverses_id, d),
        "idempotency_key": fields.text(t.idempotency_key, d),
        "external_id": fields.text(t.external_id, d),
        "description": fields.text(t.description, d),
        "metadata": fields.text(t.metadata, d),
        "effective_ns": fields.time(t.effective_at, d, build.zone),
    }
    checks = [_null(tid.value, t.id.key)]
    if with_status:
        status = fields.enum(t.status, d)
        recorded = fields.time(t.recorded_at, d, build.zone)
        reads["status"] = status
        reads["recorded_ns"] = recorded
        checks += [_null(status.value, t.status.key), _null(recorded.value, t.recorded_at.key)]
        version = fields.integer(t.version, d) if t.version is not None else None
        reads["version"] = version or fields.Read(pl.lit(0, pl.Int64))
        if t.version is not None:
            checks.append(_null(reads["version"].value, t.version.key))
    if t.kind is not None:
        reads["kind"] = fields.enum(t.kind, d)
    chain = build.mapping.chain
    if chain is not None:
        reads |= {
            "chain_seq": fields.integer(chain.seq, d),
            "chain_prev_hash": fields.text(chain.prev_hash, d),
            "content_hash": fields.text(chain.content_hash, d),
            "chain_hash": fields.text(chain.hash, d),
            "meta_hash": fields.text(chain.meta_hash, d),
        }
    values = {name: read.value for name, read in reads.items()}
    return values, [*fields.problems(*reads.values()), *checks]


def _entries(build: _Build, scales: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Legs per row (transfer rows give two), and the transactions if they live here too."""
    e = build.mapping.entries
    rel = build.rel(e.section)
    d = rel.dtypes
    money, checks, stages = _money(build, rel, e.amount, e.currency, scales)
    tid = fields.text(e.transaction_id if e.transaction_id is not None else e.row_id, d)
    ledger = build.ledger(e.ledger_id, d)
    values: dict[str, pl.Expr] = {
        "ledger_id": ledger.value,
        "transaction_id": tid.value,
        **money,
    }
    reads = [tid, ledger]
    checks.append(_null(tid.value, (e.transaction_id or e.row_id or e.amount).key))
    for name, field in (("__row_id", e.row_id), ("version", e.version), ("entry_index", e.index)):
        read = fields.integer(field, d) if name != "__row_id" else fields.text(field, d)
        values[name] = read.value
        reads.append(read)
        if field is not None:
            checks.append(_null(read.value, field.key))
    if e.shape == EntryShape.ENTRY:
        account = fields.text(e.account, d)
        values["account_id"] = account.value
        checks.append(_null(account.value, str(e.account.key if e.account else "account")))
        reads.append(account)
        if e.direction is not None:
            direction = fields.enum(e.direction, d)
            values["direction"] = direction.value
            reads.append(direction)
            checks.append(_null(direction.value, e.direction.key))
        else:
            positive = "debit" if e.amount.sign == "debit_positive" else "credit"
            negative = "credit" if positive == "debit" else "debit"
            values["direction"] = (
                pl.when(money["__negative"]).then(pl.lit(negative)).otherwise(pl.lit(positive))
            )
    else:
        debit, credit = fields.text(e.debit_account, d), fields.text(e.credit_account, d)
        values["__debit"], values["__credit"] = debit.value, credit.value
        reads += [debit, credit]
        checks += [
            _null(debit.value, str(e.debit_account.key if e.debit_account else "")),
            _null(credit.value, str(e.credit_account.key if e.credit_account else "")),
            _when(money["__negative"], f"{e.amount.key}: a transfer amount is never negative"),
        ]
    shared = build.mapping.transactions.section.relation == e.section.relation
    tx_values: dict[str, pl.Expr] = {}
    if shared:
        tx_values, tx_checks = _transaction_values(
            build, rel, with_status=build.mapping.transactions.shape != TransactionShape.HISTORY
        )
        checks += tx_checks
        tx_values = {f"__tx_{k}": v for k, v in tx_values.items()}
    frame = build.evaluate(
        rel, {**values, **tx_values}, [*fields.problems(*reads), *checks], stages
    )
    if e.index is not None:
        _duplicates(
            rel, frame, ["ledger_id", "transaction_id", "version", "entry_index"], "entries"
        )
    if e.row_id is not None:
        _duplicates(rel, frame, ["ledger_id", "__row_id"], "entries")
    tx_frame = None
    if shared:
        tx_frame = _transactions_in_entries(rel, frame)
    return frame, tx_frame


def _transactions_in_entries(rel: _Relation, frame: pl.DataFrame) -> pl.DataFrame:
    """The transactions of an entries relation: rows of one transaction must agree."""
    columns = [c for c in frame.columns if c.startswith("__tx_")]
    renamed = frame.select(ROW, *columns).rename({c: c.removeprefix("__tx_") for c in columns})
    key = ["ledger_id", "transaction_id"] + (["version"] if "version" in renamed.columns else [])
    good = rel.good(renamed)
    others = [c for c in renamed.columns if c not in {ROW, *key}]
    conflicts = (
        good.group_by(key)
        .agg(pl.col(ROW), *(pl.col(c).n_unique().alias(c) for c in others))
        .filter(pl.any_horizontal(pl.col(c) > 1 for c in others) if others else pl.lit(value=False))
    )
    rel.mark_rows(
        conflicts[ROW].explode() if conflicts.height else pl.Series([], dtype=pl.UInt32),
        "transactions: fields differ between the rows of one transaction",
    )
    return renamed


def _transactions(build: _Build, in_entries: pl.DataFrame | None) -> pl.DataFrame:
    """One row per transaction version: ROW plus the TRANSACTIONS columns that were mapped."""
    t = build.mapping.transactions
    rel = build.rel(t.section)
    if in_entries is not None:
        frame = in_entries
    else:
        values, checks = _transaction_values(
            build, rel, with_status=t.shape != TransactionShape.HISTORY
        )
        frame = build.evaluate(rel, values, checks)
        key = ["ledger_id", "transaction_id"] + (["version"] if "version" in frame.columns else [])
        _duplicates(rel, frame, key, "transactions")
    good = rel.good(frame)
    if in_entries is not None:
        key = ["ledger_id", "transaction_id"] + (["version"] if "version" in good.columns else [])
        good = good.sort(ROW).unique(key, keep="first", maintain_order=True)
    if t.shape == TransactionShape.HISTORY:
        good = _history_versions(build, good)
    if t.effective_at is None:
        build.notes.append(
            "effective times are not mapped: the effective basis equals the recorded basis"
        )
    else:
        fallback = good.filter(pl.col("effective_ns").is_null()).height
        if fallback:
            build.notes.append(
                f"{fallback} transaction version(s) have no effective time: recorded time used"
            )
    good = good.with_columns(pl.coalesce("effective_ns", "recorded_ns").alias("effective_ns"))
    if t.kind is None:
        good = _derive_kind(good)
        build.notes.append("transaction kinds are derived from status and version (no kind mapped)")
    if t.shape == TransactionShape.ROW:
        build.notes.append(
            "one row per transaction: earlier statuses (pending before posted) are not recorded, "
            "so the pending lifecycle is not proven"
        )
    return good


def _history_versions(build: _Build, base: pl.DataFrame) -> pl.DataFrame:
    """Each status-history row a version, numbered by time (then ``order``)."""
    history = build.mapping.transactions.history
    assert history is not None  # noqa: S101 - shape = history guarantees it
    rel = build.rel(history.section)
    d = rel.dtypes
    tid = fields.text(history.transaction_id, d)
    status = fields.enum(history.status, d)
    at = fields.time(history.at, d, build.zone)
    order = fields.text(history.order, d)
    ledger = build.ledger(history.ledger_id, d)
    frame = build.evaluate(
        rel,
        {
            "ledger_id": ledger.value,
            "transaction_id": tid.value,
            "status": status.value,
            "recorded_ns": at.value,
            "__order": order.value,
        },
        [
            *fields.problems(tid, status, at, order, ledger),
            _null(tid.value, history.transaction_id.key),
            _null(status.value, history.status.key),
            _null(at.value, history.at.key),
        ],
    )
    tx_key = ["ledger_id", "transaction_id"]
    unknown = frame.join(base.select(tx_key), on=tx_key, how="anti")
    rel.mark_rows(unknown[ROW], f"{history.transaction_id.key}: no such transaction")
    _duplicates(rel, frame, [*tx_key, "recorded_ns", "__order"], "status history")
    versions = (
        rel.good(frame)
        .sort(*tx_key, "recorded_ns", "__order", nulls_last=True)
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(tx_key).alias("version"))
        .drop(ROW, "__order")
    )
    tx_rel = build.rel(build.mapping.transactions.section)
    missing = base.join(versions.select(tx_key), on=tx_key, how="anti")
    tx_rel.mark_rows(missing[ROW], "transactions: no status history rows")
    base = tx_rel.good(base)
    joined = base.drop("version", "status", "recorded_ns", strict=False).join(
        versions, on=tx_key, how="inner"
    )
    # Version 0 takes effect when the transaction does; later versions when they happen.
    return joined.with_columns(
        pl.when(pl.col("version") == 0)
        .then(pl.col("effective_ns"))
        .otherwise(pl.col("recorded_ns"))
        .alias("effective_ns")
    )


def _derive_kind(frame: pl.DataFrame) -> pl.DataFrame:
    first = pl.col("version") == 0
    status = pl.col("status")
    kind = (
        pl.when(first & (status == "pending"))
        .then(pl.lit("pending"))
        .when(first & pl.col("reverses_transaction_id").is_not_null())
        .then(pl.lit("reversal"))
        .when(first)
        .then(pl.lit("standard"))
        .when(status == "posted")
        .then(pl.lit("post_pending"))
        .when(status == "archived")
        .then(pl.lit("void_pending"))
        .otherwise(pl.lit("pending"))
    )
    return frame.with_columns(kind.alias("kind"))


# --- phase 3: tables ---------------------------------------------------------------------


def _legs(build: _Build, frame: pl.DataFrame) -> pl.DataFrame:
    """Good entry rows as legs: transfers split in two, indexes assigned where missing."""
    e = build.mapping.entries
    if e.shape == EntryShape.TRANSFER:
        base = frame.drop("__negative")
        if e.index is None:
            order = pl.struct(
                _row_digits(), "__row_id", "__debit", "__credit", "asset_id", "__magnitude"
            )
            base = base.with_columns(
                (
                    order.rank("ordinal")
                    .over("ledger_id", "transaction_id", "version")
                    .cast(pl.Int64)
                    - 1
                ).alias("entry_index")
            )
        legs = [
            base.with_columns(
                pl.col(account).alias("account_id"),
                pl.lit(direction).alias("direction"),
                (pl.col("entry_index") * 2 + leg).alias("entry_index"),
            )
            for leg, (account, direction) in enumerate(
                (("__debit", "debit"), ("__credit", "credit"))
            )
        ]
        return pl.concat(legs).drop("__debit", "__credit")
    if e.index is None:
        frame = frame.with_columns(
            (
                pl.struct(
                    _row_digits(),
                    pl.col("__row_id"),
                    (pl.col("direction") == "credit").alias("__credit_leg"),
                    pl.col("account_id"),
                    pl.col("asset_id"),
                    pl.col("__magnitude").cast(pl.String).str.len_chars().alias("__digits"),
                    pl.col("__magnitude").cast(pl.String).alias("__value"),
                )
                .rank("ordinal")
                .over("ledger_id", "transaction_id", "version")
                .cast(pl.Int64)
                - 1
            ).alias("entry_index")
        )
    return frame.drop("__negative")


def _row_digits() -> pl.Expr:
    """Orders numeric row ids as numbers (9 before 10): their length first, then the text."""
    row_id = pl.col("__row_id")
    return (
        pl.when(row_id.str.contains(r"^[0-9]+$"))
        .then(row_id.str.len_bytes())
        .otherwise(0)
        .alias("__row_digits")
    )


def _entries_versions(
    build: _Build, frame: pl.DataFrame, transactions: pl.DataFrame
) -> pl.DataFrame:
    rel = build.rel(build.mapping.entries.section)
    good = rel.good(frame).drop([c for c in frame.columns if c.startswith("__tx_")])
    if build.mapping.entries.version is None:
        versions = transactions.select("ledger_id", "transaction_id", "version").unique()
        good = (
            good.drop("version")
            .join(versions, on=["ledger_id", "transaction_id"], how="left")
            .with_columns(pl.col("version").fill_null(0))
        )
    return _legs(build, good)


def _accounts(build: _Build, entries: pl.DataFrame, scales: pl.DataFrame) -> pl.DataFrame:
    """Accounts from their relation, or gathered from the entries (no asset, no limits)."""
    a = build.mapping.accounts
    if a.section is None:
        ids = entries.select("ledger_id", "account_id").unique().sort("ledger_id", "account_id")
        normal = fields.enum(a.normal_balance, {}, on=pl.col("account_id"))
        frame = ids.with_columns(
            pl.col("account_id").alias("name"),
            normal.value.alias("normal_balance"),
            pl.lit(None, pl.String).alias("asset_id"),
            pl.lit(value=True).alias("allow_negative"),
            pl.lit(None, pl.Int64).alias("opened_ns"),
        )
        undecided = frame.filter(pl.col("normal_balance").is_null())
        if undecided.height:
            shown = ", ".join(undecided["account_id"].head(5).to_list())
            build.notes.append(
                f"{undecided.height} account(s) match no normal_balance prefix and are left out "
                f"(their entries are findings): {shown}"
            )
        build.notes.append(
            "accounts are taken from the entries: single-asset and no-negative limits are not "
            "proven"
        )
        return frame.filter(pl.col("normal_balance").is_not_null())
    rel = build.rel(a.section)
    d = rel.dtypes
    account_id = fields.text(a.id, d)
    normal = fields.enum(a.normal_balance, d, on=account_id.value)
    name = fields.text(a.name, d)
    allow = fields.boolean(a.allow_negative, d, default=True)
    opened = fields.time(a.opened_at, d, build.zone)
    closed = fields.time(a.closed_at, d, build.zone)
    external = fields.text(a.external_id, d)
    metadata = fields.text(a.metadata, d)
    ledger = build.ledger(a.ledger_id, d)
    values: dict[str, pl.Expr] = {
        "ledger_id": ledger.value,
        "account_id": account_id.value,
        "name": pl.coalesce(name.value, account_id.value),
        "normal_balance": normal.value,
        "allow_negative": allow.value,
        "opened_ns": opened.value,
        "closed_ns": closed.value,
        "external_id": external.value,
        "metadata": metadata.value,
    }
    checks = [
        _null(account_id.value, str(a.id.key if a.id else "accounts.id")),
        _null(normal.value, a.normal_balance.key),
    ]
    reads = [account_id, normal, name, allow, opened, closed, external, metadata, ledger]
    if a.currency is not None:
        code = fields.text(a.currency, d)
        scale = build.scale_of(code.value, scales)
        values["asset_id"] = build.asset_of(code.value, scales)
        checks.append(
            _when(
                code.value.is_not_null() & scale.is_null(),
                f"{a.currency.key}: currency has no scale in [assets]",
            )
        )
        reads.append(code)
    else:
        values["asset_id"] = pl.lit(None, pl.String)
    frame = build.evaluate(rel, values, [*fields.problems(*reads), *checks])
    _duplicates(rel, frame, ["ledger_id", "account_id"], "accounts")
    if a.allow_negative is None:
        build.notes.append("no-negative limits are not mapped: every account may go negative")
    return rel.good(frame).drop(ROW)


def _balances(build: _Build, scales: pl.DataFrame) -> pl.DataFrame | None:
    b = build.mapping.balances
    if b is None:
        build.notes.append("no stored balances are mapped: balance drift is not proven")
        return None
    rel = build.rel(b.section)
    d = rel.dtypes
    account = fields.text(b.account, d)
    as_of = fields.time(b.as_of, d, build.zone)
    lock = fields.integer(b.lock_version, d)
    ledger = build.ledger(b.ledger_id, d)
    values: dict[str, pl.Expr] = {
        "ledger_id": ledger.value,
        "account_id": account.value,
        "as_of_ns": as_of.value,
        "lock_version": pl.coalesce(lock.value, pl.lit(0, pl.Int64)),
    }
    checks = [
        *fields.problems(account, as_of, lock, ledger),
        _null(account.value, b.account.key),
        _null(as_of.value, b.as_of.key),
    ]
    stages: Stages = ()
    for name in ("posted_debits", "posted_credits", "pending_debits", "pending_credits"):
        field: Field = getattr(b, name)
        money, money_checks, money_stages = _money(build, rel, field, b.currency, scales)
        values["asset_id"] = money["asset_id"]
        values[name] = money["__magnitude"]
        checks += [*money_checks, _when(money["__negative"], f"{field.key}: negative total")]
        stages = _merge(stages, money_stages)
    frame = build.evaluate(rel, values, checks, stages)
    _duplicates(rel, frame, ["ledger_id", "account_id", "asset_id"], "balances")
    return rel.good(frame).drop(ROW)


def _canonical_frame(frame: pl.DataFrame | None, table: str) -> pl.DataFrame:
    """``frame`` with exactly the canonical columns (those not mapped are null)."""
    schema = FRAME_SCHEMAS[table]
    if frame is None:
        return pl.DataFrame(schema=schema)
    return frame.select(
        pl.col(c) if c in frame.columns else pl.lit(None, dtype=schema[c]).alias(c) for c in schema
    )


def _ledgers(build: _Build, transactions: pl.DataFrame, used: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per ledger id found; created when its first transaction was recorded."""
    m = build.mapping
    meta = (
        None
        if m.ledger.closed_through_ns is None
        else json.dumps({"closed_through_ns": m.ledger.closed_through_ns})
    )
    ids = pl.concat(used).drop_nulls().unique()
    created = transactions.group_by("ledger_id").agg(pl.col("recorded_ns").min().alias("c"))
    return (
        ids.join(created, on="ledger_id", how="left")
        .sort("ledger_id")
        .select(
            "ledger_id",
            pl.when(pl.col("ledger_id") == m.ledger.id)
            .then(pl.lit(m.ledger.name or m.ledger.id))
            .otherwise(pl.col("ledger_id"))
            .alias("name"),
            pl.lit(None if m.chain is None else m.chain.algorithm, pl.String).alias(
                "chain_algorithm"
            ),
            pl.col("c").fill_null(0).alias("created_ns"),
            pl.lit(meta, pl.String).alias("metadata"),
        )
    )


def _finish(
    build: _Build,
    *,
    scales: pl.DataFrame,
    accounts: pl.DataFrame,
    transactions: pl.DataFrame,
    entries: pl.DataFrame,
    balances: pl.DataFrame | None,
) -> dict[str, pl.DataFrame]:
    m = build.mapping
    parts = [accounts, transactions, entries] + ([] if balances is None else [balances])
    ledgers = _ledgers(build, transactions, [f.select("ledger_id") for f in parts])
    accounts = accounts.join(
        ledgers.select("ledger_id", "created_ns"), on="ledger_id", how="left"
    ).with_columns(pl.coalesce("opened_ns", "created_ns").alias("opened_ns"))
    # Every currency the mapping declares is an asset, used or not; and every one used.
    declared = scales.select(pl.concat_str("code", pl.lit("/"), pl.col("scale").cast(pl.String)))
    used = [declared.to_series().alias("asset_id").to_frame()]
    used += [entries.select("asset_id"), accounts.select("asset_id")]
    if balances is not None:
        used.append(balances.select("asset_id"))
    asset_ids = pl.concat(used).drop_nulls().unique().sort("asset_id")
    split = pl.col("asset_id").str.split_exact("/", 1)
    assets = asset_ids.select(
        "asset_id",
        split.struct.field("field_0").alias("code"),
        split.struct.field("field_1").cast(pl.Int32).alias("scale"),
        pl.lit(m.assets.kind).alias("kind"),
    )
    entries = entries.rename({"__magnitude": "amount"})
    if m.transactions.idempotency_key is None:
        build.notes.append("idempotency keys are not mapped: idempotency is not proven")
    if m.chain is None:
        build.notes.append("no hash chain is mapped: the history is not proven unaltered")
    floats = [f.key for _, f in _money_fields(m) if f.allow_float]
    if floats:
        build.notes.append(
            f"amounts read from float columns by opt-in ({', '.join(floats)}): their exactness "
            "is not proven"
        )
    return {
        "ledgers": ledgers,
        "assets": assets.select(list(FRAME_SCHEMAS["assets"])),
        "accounts": _canonical_frame(accounts, "accounts"),
        "transactions": _canonical_frame(transactions, "transactions"),
        "entries": _canonical_frame(entries, "entries"),
        "balances": _canonical_frame(balances, "balances"),
    }


def _money_fields(m: SourceMapping) -> list[tuple[str, Field]]:
    found = [("entries", m.entries.amount)]
    if m.balances is not None:
        b = m.balances
        found += [
            ("balances", f)
            for f in (b.posted_debits, b.posted_credits, b.pending_debits, b.pending_credits)
        ]
    return found


def _rejections(build: _Build) -> tuple[pl.DataFrame, tuple[TableCount, ...]]:
    """One REJECTION_SCHEMA row per rejected source row, and per-relation counts."""
    columns_of = {f.key: f.column for _, f in _all_fields(build.mapping)}
    parts: list[pl.DataFrame] = []
    counts: list[TableCount] = []
    for rel in build.relations.values():
        bad = rel.frame.with_columns(rel.problem.alias(_PROBLEM)).filter(
            pl.col(_PROBLEM).is_not_null()
        )
        name = rel.section.relation.label
        counts.append(
            TableCount(
                table=name,
                read=rel.frame.height,
                loaded=rel.frame.height - bad.height,
                rejected=bad.height,
            )
        )
        if not bad.height:
            continue
        key = bad[_PROBLEM].str.extract(r"^([a-z_.]+):", 1)
        raw = pl.Series("raw_value", [None] * bad.height, dtype=pl.String)
        for field_key in key.drop_nulls().unique().to_list():
            column = columns_of.get(field_key)
            if column is not None and column in bad.columns:
                raw = pl.select(
                    pl.when(pl.lit(key) == field_key)
                    .then(pl.lit(bad[column]).cast(pl.String, strict=False))
                    .otherwise(pl.lit(raw))
                ).to_series()
        locator = bad.select(
            pl.concat_str(pl.lit(f"{name}("), _locator(rel.key_columns, build.by_row), pl.lit(")"))
        ).to_series()
        parts.append(
            pl.DataFrame(
                {
                    "source": pl.repeat(rel.label, bad.height, dtype=pl.String, eager=True),
                    "table": pl.repeat(rel.section.name, bad.height, dtype=pl.String, eager=True),
                    "locator": locator,
                    "column": key.fill_null(rel.section.name),
                    "reason": bad[_PROBLEM].str.replace(r"^[a-z_.]+:\s*", ""),
                    "raw_value": raw.fill_null("null"),
                }
            )
        )
    if not parts:
        return empty_rejections(), tuple(counts)
    frame = pl.concat(parts).cast(pl.Schema(REJECTION_SCHEMA))
    return frame.sort("source", "locator", "column", "reason"), tuple(counts)


def _locator(columns: Sequence[str], by_row: bool) -> pl.Expr:
    parts: list[pl.Expr] = [pl.format("row {}", pl.col(ROW))] if by_row or not columns else []
    parts += [
        pl.lit(f"{c}=") + pl.col(c).cast(pl.String, strict=False).fill_null("null") for c in columns
    ]
    return pl.concat_str(parts, separator=", ")


def _all_fields(m: SourceMapping) -> list[tuple[Section, Field]]:
    from ledger_audit.sources.mapping.validate import section_fields  # noqa: PLC0415

    return list(section_fields(m))


def build_tables(mapping: SourceMapping, source: RelationSource) -> MappedTables:
    """Read every relation the mapping names and build the canonical raw tables."""
    build = _Build(mapping, source)
    build.read_all()
    scales = _scales(build)
    entry_rows, tx_in_entries = _entries(build, scales)
    transactions = _transactions(build, tx_in_entries)
    entries = _entries_versions(build, entry_rows, transactions)
    accounts = _accounts(build, entries, scales)
    balances = _balances(build, scales)
    tables = _finish(
        build,
        scales=scales,
        accounts=accounts,
        transactions=transactions,
        entries=entries,
        balances=balances,
    )
    rejections, counts = _rejections(build)
    return MappedTables(tables, rejections, counts, tuple(dict.fromkeys(build.notes)))
