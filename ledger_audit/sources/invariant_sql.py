"""The invariant suites' SQL side: the ``legs`` query and each invariant as one SELECT.

The SQL path of the great-expectations suites runs inside the source database, for ledgers
that do not fit in memory. This module only builds SQLAlchemy Core statements (SQLite and
PostgreSQL); ``ledger_audit.checks.gx_suites`` runs them through GX's SQL execution engine,
and ``ledger_audit.checks.engines`` runs the same statements on the loaded frames (DuckDB over
Arrow, the PostgreSQL flavour). Each statement returns the columns of ``VIOLATION_SCHEMA``:
it is the only definition of its invariant.

The source is never written: :func:`read_only_database` opens SQLite as the ADBC reader does
(nothing created or written beside the file, ``sources.sqlite_readonly``) and PostgreSQL
sessions with ``default_transaction_read_only``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.errors import InputError
from ledger_audit.schema.tables import accounts, assets, entries, transactions
from ledger_audit.sources.sqlite_readonly import (
    ReadOnlyOpen,
    plan_read_only,
    read_only_sqlite,
    sqlite_label,
)

Selectable = sa.FromClause
Columns = dict[str, sa.ColumnElement[Any]]

_TEXT = ("ledger_id", "transaction_id", "account_id", "asset_id")
VIOLATION_COLUMNS: dict[str, sa.types.TypeEngine[Any]] = {
    "ledger_id": sa.Text(),
    "transaction_id": sa.Text(),
    "version": sa.BigInteger(),
    "chain_seq": sa.BigInteger(),
    "account_id": sa.Text(),
    "asset_id": sa.Text(),
    "code": sa.Text(),
    "subject": sa.Text(),
    "other_transaction_id": sa.Text(),
    "other_version": sa.BigInteger(),
    "other_chain_seq": sa.BigInteger(),
    "expected": sa.Text(),
    "actual": sa.Text(),
}
"""The columns every invariant statement returns (VIOLATION_SCHEMA in SQL types; the two
amounts as text: an exact ``hi:lo`` pair of sums (``ExactSum``) or an integer)."""

VERSION_FIELDS = (
    "kind",
    "status",
    "pending_transaction_id",
    "reverses_transaction_id",
    "idempotency_key",
    "external_id",
)
"""What each leg carries from its version besides its keys and times."""

LEG_COLUMNS = (
    "ledger_id",
    "transaction_id",
    "version",
    "has_version",
    *VERSION_FIELDS,
    "chain_seq",
    "recorded_ns",
    "entry_index",
    "account_id",
    "asset_id",
    "direction",
    "amount",
    "account_asset_id",
    "account_check",
    "allow_negative",
    "normal_balance",
    "asset_check",
)
_TX = ("ledger_id", "transaction_id")
_VERSION = (*_TX, "version")
_LEG = ("account_id", "asset_id", "direction", "amount")
_TERMINAL = ("posted", "archived")


def _sqlite_path(url: str, database: str | None) -> Path:
    if not database or database == ":memory:":
        raise InputError(url, "an in-memory SQLite database has no ledger to read")
    path = Path(database).resolve()
    if not path.is_file():
        raise InputError(url, "no such SQLite file")
    return path


def _sqlite_url(plan: ReadOnlyOpen) -> str:
    database, query = plan.uri.split("?", 1)
    options = dict(pair.split("=", 1) for pair in query.split("&"))
    url = sa.URL.create("sqlite", database=database, query={**options, "uri": "true"})
    return url.render_as_string(hide_password=False)


def sqlite_file_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file, escaped: ``?``, ``#`` or ``%`` in a path survive."""
    return sa.URL.create("sqlite", database=str(path.resolve())).render_as_string()


def read_only_url(url: str) -> str:
    """The SQLAlchemy URL that opens ``url`` (SQLite or PostgreSQL) so it cannot be written.

    SQLite is opened as ``open_sqlite`` opens it (``sources.sqlite_readonly``): nothing is
    created or written beside the file. Prefer ``read_only_database``, which also refuses
    an immutable read that the file changed under.
    """
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = _sqlite_path(url, parsed.database)
        return _sqlite_url(plan_read_only(path, sqlite_label(path)))
    if backend == "postgresql":
        read_only = parsed.set(drivername="postgresql+psycopg").update_query_dict(
            {"options": "-c default_transaction_read_only=on"}
        )
        return read_only.render_as_string(hide_password=False)
    raise InputError(url, f"unsupported source for the SQL suites: {backend!r}")


@contextmanager
def read_only_database(url: str) -> Iterator[str]:
    """``read_only_url`` for the block; an immutable SQLite read the file changed under fails.

    The check runs when the block ends without an error: queries run inside it.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        yield read_only_url(url)
        return
    path = _sqlite_path(url, parsed.database)
    with read_only_sqlite(path, sqlite_label(path)) as plan:
        yield _sqlite_url(plan)


def first_wide_entry(url: str) -> str | None:
    """The first entry (in key order) whose amount is beyond int64 in the database, or None.

    The SQL path casts amounts to BIGINT: PostgreSQL fails on a wider NUMERIC, and SQLite
    turns a REAL beyond int64 into 2^63 - 1 without a word, so such a ledger is kept off it.
    """
    e = entries.c
    key = (e.ledger_id, e.transaction_id, e.version, e.entry_index)
    query = (
        sa.select(*key)
        .where(sa.or_(e.amount > _INT64_MAX, e.amount < -_INT64_MAX - 1))
        .order_by(*key)
        .limit(1)
    )
    with read_only_database(url) as read_only:
        engine = sa.create_engine(read_only, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                row = conn.execute(query).first()
        finally:
            engine.dispose()
    if row is None:
        return None
    names = ("ledger_id", "transaction_id", "version", "entry_index")
    return "entry " + ", ".join(f"{name}={value}" for name, value in zip(names, row, strict=True))


_INT64_MAX = 2**63 - 1


def legs_query() -> sa.Select[Any]:
    """The ``legs`` rows (see ``ledger_audit.checks.invariant_rules``) as one SELECT."""
    t, e, a, s = transactions, entries, accounts, assets
    joined_version = sa.and_(
        e.c.ledger_id == t.c.ledger_id,
        e.c.transaction_id == t.c.transaction_id,
        e.c.version == t.c.version,
    )

    def leg_columns(*, has_version: bool) -> list[sa.ColumnElement[Any]]:
        found = e.c.entry_index.is_not(None)
        version_of = t if has_version else e
        return [
            version_of.c.ledger_id.label("ledger_id"),
            version_of.c.transaction_id.label("transaction_id"),
            sa.cast(version_of.c.version, sa.BigInteger).label("version"),
            sa.literal(1 if has_version else 0, sa.BigInteger).label("has_version"),
            *[
                (t.c[name] if has_version else sa.cast(sa.null(), sa.Text)).label(name)
                for name in (
                    "kind",
                    "status",
                    "pending_transaction_id",
                    "reverses_transaction_id",
                    "idempotency_key",
                    "external_id",
                )
            ],
            (
                sa.cast(t.c.chain_seq, sa.BigInteger)
                if has_version
                else sa.cast(sa.null(), sa.BigInteger)
            ).label("chain_seq"),
            (
                sa.cast(t.c.recorded_ns, sa.BigInteger)
                if has_version
                else sa.cast(sa.null(), sa.BigInteger)
            ).label("recorded_ns"),
            sa.cast(e.c.entry_index, sa.BigInteger).label("entry_index"),
            e.c.account_id,
            e.c.asset_id,
            e.c.direction,
            sa.cast(e.c.amount, sa.BigInteger).label("amount"),
            a.c.asset_id.label("account_asset_id"),
            sa.case(
                (~found, sa.cast(sa.null(), sa.Text)),
                (a.c.account_id.is_(None), sa.literal("unknown")),
                else_=a.c.normal_balance,
            ).label("account_check"),
            sa.case(
                (a.c.allow_negative == sa.true(), sa.literal(1, sa.BigInteger)),
                (a.c.allow_negative == sa.false(), sa.literal(0, sa.BigInteger)),
            ).label("allow_negative"),
            a.c.normal_balance,
            sa.case(
                (~found, sa.cast(sa.null(), sa.BigInteger)),
                (s.c.asset_id.is_(None), sa.literal(-1, sa.BigInteger)),
                else_=sa.cast(s.c.scale, sa.BigInteger),
            ).label("asset_check"),
        ]

    account_join = sa.and_(a.c.ledger_id == e.c.ledger_id, a.c.account_id == e.c.account_id)
    with_versions = sa.select(*leg_columns(has_version=True)).select_from(
        t.outerjoin(e, joined_version)
        .outerjoin(a, account_join)
        .outerjoin(s, s.c.asset_id == e.c.asset_id)
    )
    orphans = (
        sa.select(*leg_columns(has_version=False))
        .select_from(
            e.outerjoin(t, joined_version)
            .outerjoin(a, account_join)
            .outerjoin(s, s.c.asset_id == e.c.asset_id)
        )
        .where(t.c.transaction_id.is_(None))
    )
    return sa.union_all(with_versions, orphans).subquery("legs_rows").select()


def legs_sql(dialect: sa.Dialect) -> str:
    """:func:`legs_query` as SQL text for ``dialect`` (GX query assets take text)."""
    return str(legs_query().compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


# --- building blocks ----------------------------------------------------------------------


VERSION_COLUMNS = (*_VERSION, *VERSION_FIELDS, "chain_seq", "recorded_ns", "pos")
"""The columns of each version's row (``versions_query``), ``pos`` last."""


class _Ctx:
    """The CTEs every invariant starts from, over the batch GX hands the metric.

    ``versions``: a relation already holding :func:`versions_query`'s rows over the same
    batch (an engine that computed them once for every invariant); otherwise each statement
    derives them.
    """

    def __init__(
        self, batch: Selectable, dialect: str, versions: sa.TableClause | None = None
    ) -> None:
        self.postgres = dialect == "postgresql"
        # A named relation (an engine's ``legs``: a view over frames, a table, a CTE the
        # database materialises) is read where it is named: as CTEs, DuckDB materialised every
        # leg's columns once more for a statement reading the entries twice (30M legs spilled
        # within 2 GiB at 10M). Any other batch (GX's query) is a CTE, computed once.
        named = isinstance(batch, sa.TableClause)
        columns: list[sa.ColumnClause[Any]] = [sa.column(name) for name in LEG_COLUMNS]
        legs = sa.select(*columns).select_from(batch)
        self.legs: sa.CTE | sa.Subquery = (
            legs.subquery("inv_legs") if named else legs.cte("inv_legs")
        )
        self.versions: sa.CTE | sa.TableClause
        if versions is not None:
            self.versions = versions
        else:
            self.versions = self._versions()
        c = self.legs.c
        entries = sa.select(self.legs).where(c.has_version == 1, c.entry_index.is_not(None))
        self.entries: sa.CTE | sa.Subquery = (
            entries.subquery("inv_entries") if named else entries.cte("inv_entries")
        )

    def _versions(self) -> sa.CTE:
        """One row per version (VERSION_COLUMNS), ``pos`` its place in chain order."""
        legs = self.legs.c
        distinct = (
            sa.select(*[legs[name] for name in VERSION_COLUMNS[:-1]])
            .where(legs.has_version == 1)
            .distinct()
            .subquery("distinct_versions")
        )
        d = distinct.c
        return sa.select(
            *d,
            sa.func.row_number()
            .over(
                partition_by=d.ledger_id,
                order_by=(
                    d.chain_seq.is_(None),
                    d.chain_seq,
                    d.recorded_ns.is_(None),
                    d.recorded_ns,
                    self.text(d.transaction_id),
                    d.version,
                ),
            )
            .label("pos"),
        ).cte("inv_versions")

    def text(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        """Order text by bytes, as polars does (PostgreSQL collations may not)."""
        return column.collate("C") if self.postgres else column

    def moves(self) -> sa.CTE:
        """Versions with their transaction's previous version (status, version, seq)."""
        v = self.versions.c
        window_by, window_order = (v.ledger_id, v.transaction_id), v.version
        return sa.select(
            self.versions,
            sa.func.lag(v.status)
            .over(partition_by=window_by, order_by=window_order)
            .label("prev_status"),
            sa.func.lag(v.version)
            .over(partition_by=window_by, order_by=window_order)
            .label("prev_version"),
            sa.func.lag(v.chain_seq)
            .over(partition_by=window_by, order_by=window_order)
            .label("prev_seq"),
        ).cte("inv_moves")


_HALF = 32
_LOW = (1 << _HALF) - 1


@dataclass(frozen=True, slots=True)
class ExactSum:
    """A sum of minor units as ``hi * 2^32 + lo``: two int64 sums that cannot overflow.

    SQLite's ``sum`` of integers raises past int64 (and ``total`` is a float); PostgreSQL's
    is NUMERIC but the two dialects must give the same rows. Each amount splits into its
    high half (``amount >> 32``, arithmetic) and low half (``amount & (2^32 - 1)``, 0 to
    2^32 - 1); halves sum within int64 for up to 2^31 rows. Comparisons normalise the pair
    (the carry of ``lo`` moved into ``hi``), and the value leaves as text ``hi:lo``, which
    ``ledger_audit.checks.invariant_rules.violations_from_rows`` turns into Decimal(38, 0).
    """

    hi: sa.ColumnElement[Any]
    lo: sa.ColumnElement[Any]

    @classmethod
    def of(cls, amount: sa.ColumnElement[Any]) -> ExactSum:
        """One amount, split."""
        return cls(
            amount.op(">>", return_type=sa.BigInteger)(sa.literal(_HALF, sa.Integer)),
            amount.op("&", return_type=sa.BigInteger)(sa.literal(_LOW, sa.BigInteger)),
        )

    @classmethod
    def column(cls, table: sa.FromClause, name: str) -> ExactSum:
        """The pair labelled ``name`` by ``labelled`` in a subquery or CTE."""
        return cls(table.c[f"{name}_hi"], table.c[f"{name}_lo"])

    def labelled(self, name: str) -> list[sa.ColumnElement[Any]]:
        """The two columns, named ``name_hi`` and ``name_lo``."""
        return [self.hi.label(f"{name}_hi"), self.lo.label(f"{name}_lo")]

    def when(self, condition: sa.ColumnElement[bool]) -> ExactSum:
        """This value where ``condition`` holds, else 0."""
        return ExactSum(
            sa.case((condition, self.hi), else_=0), sa.case((condition, self.lo), else_=0)
        )

    def total(self, **over: Any) -> ExactSum:  # noqa: ANN401 - SQLAlchemy's over() arguments
        """``sum`` of each half (as a window function when ``over`` is given)."""
        his, los = sa.func.sum(self.hi), sa.func.sum(self.lo)
        if over:
            return ExactSum(
                sa.cast(his.over(**over), sa.BigInteger), sa.cast(los.over(**over), sa.BigInteger)
            )
        return ExactSum(sa.cast(his, sa.BigInteger), sa.cast(los, sa.BigInteger))

    def or_zero(self) -> ExactSum:
        """NULL (no row joined) as 0."""
        return ExactSum(sa.func.coalesce(self.hi, 0), sa.func.coalesce(self.lo, 0))

    def __neg__(self) -> ExactSum:
        return ExactSum(-self.hi, -self.lo)

    def __sub__(self, other: ExactSum) -> ExactSum:
        return ExactSum(self.hi - other.hi, self.lo - other.lo)

    def normal_hi(self) -> sa.ColumnElement[Any]:
        """The high half with the low half's carry (value = normal_hi * 2^32 + normal_lo)."""
        return self.hi + self.lo.op(">>", return_type=sa.BigInteger)(sa.literal(_HALF, sa.Integer))

    def normal_lo(self) -> sa.ColumnElement[Any]:
        """The low half without its carry: 0 to 2^32 - 1."""
        return self.lo.op("&", return_type=sa.BigInteger)(sa.literal(_LOW, sa.BigInteger))

    def differs(self, other: ExactSum) -> sa.ColumnElement[bool]:
        """``self != other``, exactly."""
        gap = self - other
        return sa.or_(gap.normal_hi() != 0, gap.normal_lo() != 0)

    def equals(self, other: ExactSum) -> sa.ColumnElement[bool]:
        """``self == other``, exactly."""
        gap = self - other
        return sa.and_(gap.normal_hi() == 0, gap.normal_lo() == 0)

    def negative(self) -> sa.ColumnElement[bool]:
        """``self < 0``: the low half of a normal pair is never negative."""
        return self.normal_hi() < 0

    def greater(self, other: ExactSum) -> sa.ColumnElement[bool]:
        """``self > other``, exactly."""
        gap = self - other
        return sa.or_(gap.normal_hi() > 0, sa.and_(gap.normal_hi() == 0, gap.normal_lo() > 0))

    def text(self) -> sa.ColumnElement[Any]:
        """``hi:lo`` as text (NULL when either half is)."""
        return sa.cast(self.hi, sa.Text) + sa.literal(":") + sa.cast(self.lo, sa.Text)


def _sum(condition: sa.ColumnElement[bool], value: sa.ColumnElement[Any]) -> ExactSum:
    return ExactSum.of(value).when(condition).total()


def _out(**columns: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
    """VIOLATION_COLUMNS in order, the missing ones as typed NULLs."""
    texts: Columns = {
        name: sa.cast(columns[name], sa.Text)
        for name in ("expected", "actual")
        if name in columns and not isinstance(columns[name].type, sa.Text)
    }
    columns = {**columns, **texts}
    return [
        (columns[name] if name in columns else sa.cast(sa.null(), kind)).label(name)
        for name, kind in VIOLATION_COLUMNS.items()
    ]


def _pick(table: sa.FromClause, *names: str) -> Columns:
    return {name: table.c[name] for name in names}


def _differs(ctx: _Ctx, pairs: sa.CTE, key: tuple[str, ...], *, flip: bool) -> sa.Subquery:
    """The ``key`` of pairs whose ``a`` legs differ from their ``b`` legs (multisets)."""
    e = ctx.entries.c

    def side(prefix: str, weight: int) -> sa.Select[Any]:
        p = pairs.c
        direction: sa.ColumnElement[Any] = e.direction
        if flip and prefix == "b_":
            direction = sa.case(
                (e.direction == "debit", sa.literal("credit")),
                (e.direction == "credit", sa.literal("debit")),
                else_=e.direction,
            )
        return sa.select(
            *[p[name].label(name) for name in key],
            e.account_id,
            e.asset_id,
            direction.label("direction"),
            e.amount,
            sa.literal(weight, sa.BigInteger).label("w"),
        ).select_from(
            pairs.join(
                ctx.entries,
                sa.and_(
                    e.ledger_id == p.ledger_id,
                    e.transaction_id == p[f"{prefix}transaction_id"],
                    e.version == p[f"{prefix}version"],
                ),
            )
        )

    both = sa.union_all(side("a_", 1), side("b_", -1)).subquery("both_sides")
    b = both.c
    return (
        sa.select(*[b[name] for name in key])
        .group_by(*[b[name] for name in key], *[b[name] for name in _LEG])
        .having(sa.func.sum(b.w) != 0)
        .distinct()
        .subquery("unequal")
    )


def _on(
    left: sa.FromClause, right: sa.FromClause, names: tuple[str, ...]
) -> sa.ColumnElement[bool]:
    return sa.and_(*[left.c[name] == right.c[name] for name in names])


# --- the invariants ---------------------------------------------------------------------


def entry_unbalanced(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 1: versions whose debits and credits differ in an asset."""
    e = ctx.entries.c
    debits = _sum(e.direction == "debit", e.amount)
    credit_sum = _sum(e.direction == "credit", e.amount)
    keys = (e.ledger_id, e.transaction_id, e.version, e.chain_seq, e.asset_id)
    return (
        sa.select(
            *_out(
                **_pick(ctx.entries, *_VERSION, "chain_seq", "asset_id"),
                expected=debits.text(),
                actual=credit_sum.text(),
            )
        )
        .group_by(*keys)
        .having(debits.differs(credit_sum))
    )


def empty_version(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 1: a posted version has entries (with none it balances and moves nothing).

    ``legs`` holds one row with null entry columns for a version without entries. Deleting
    every leg of a posted transaction changes balances and unbalances nothing, so only this
    rule (or, on a sealed ledger, the chain) sees it.
    """
    legs = ctx.legs.c
    return (
        sa.select(*_out(**_pick(ctx.legs, *_VERSION, "chain_seq"), code=legs.status))
        .where(legs.has_version == 1, legs.entry_index.is_(None), legs.status == "posted")
        .distinct()
    )


def ledger_unbalanced(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 3: ledger x asset x status whose counting debits and credits differ.

    Each transaction's latest version, and whether some version resolves it, come from the
    versions (grouped by key); the entries of those latest versions meet them by an equality
    join on the key. (Spreading both over every leg by window functions moved every leg's
    row through a sort: 3.4 of DuckDB's 4 CPU s over the 1M demo.)
    """
    v, e = ctx.versions.c, ctx.entries.c
    tops = (
        sa.select(v.ledger_id, v.transaction_id, sa.func.max(v.version).label("top"))
        .group_by(v.ledger_id, v.transaction_id)
        .subquery("ledger_tops")
    )
    resolved = (
        sa.select(v.ledger_id, v.pending_transaction_id.label("transaction_id"))
        .where(v.pending_transaction_id.is_not(None))
        .distinct()
        .subquery("ledger_resolved")
    )
    t, r = tops.c, resolved.c
    latest = (
        sa.select(
            t.ledger_id,
            t.transaction_id,
            t.top,
            r.transaction_id.is_not(None).label("resolved"),
        )
        .select_from(tops.outerjoin(resolved, _on(tops, resolved, _TX)))
        .subquery("ledger_latest")
    )
    lt = latest.c
    debits = _sum(e.direction == "debit", e.amount)
    credit_sum = _sum(e.direction == "credit", e.amount)
    return (
        sa.select(
            *_out(
                ledger_id=e.ledger_id,
                asset_id=e.asset_id,
                code=e.status,
                expected=debits.text(),
                actual=credit_sum.text(),
            )
        )
        .select_from(
            ctx.entries.join(
                latest,
                sa.and_(
                    lt.ledger_id == e.ledger_id,
                    lt.transaction_id == e.transaction_id,
                    lt.top == e.version,
                ),
            )
        )
        .where(
            e.status.in_(["posted", "pending"]),
            sa.not_(sa.and_(e.status == "pending", lt.resolved)),
        )
        .group_by(e.ledger_id, e.asset_id, e.status)
        .having(debits.differs(credit_sum))
    )


def status_invalid_move(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 4: illegal status moves and second resolutions."""
    moves = ctx.moves()
    m = moves.c
    code = sa.case(
        (sa.and_(m.prev_status.is_(None), m.status == "archived"), sa.literal("starts_archived")),
        (m.prev_status.in_(_TERMINAL), sa.literal("after_terminal")),
        (sa.and_(m.prev_status == "pending", m.status == "pending"), sa.literal("pending_again")),
    )
    coded = sa.select(moves, code.label("code")).subquery("coded")
    k = coded.c
    bad = sa.select(
        *_out(
            **_pick(coded, *_VERSION, "chain_seq", "code"),
            subject=k.prev_status,
            other_transaction_id=sa.case(
                (k.code == "starts_archived", sa.null()), else_=k.transaction_id
            ),
            other_version=k.prev_version,
            other_chain_seq=k.prev_seq,
        )
    ).where(k.code.is_not(None))
    own = sa.select(
        m.ledger_id,
        m.transaction_id.label("target"),
        m.transaction_id,
        m.version,
        m.chain_seq,
        m.pos,
    ).where(m.prev_status == "pending", m.status.in_(_TERMINAL))
    other = sa.select(
        m.ledger_id,
        m.pending_transaction_id.label("target"),
        m.transaction_id,
        m.version,
        m.chain_seq,
        m.pos,
    ).where(m.version == 0, m.pending_transaction_id.is_not(None))
    resolutions = sa.union_all(own, other).subquery("resolutions")
    r = resolutions.c
    window_by, window_order = (r.ledger_id, r.target), r.pos
    ranked = sa.select(
        resolutions,
        sa.func.row_number().over(partition_by=window_by, order_by=window_order).label("rank"),
        sa.func.first_value(r.transaction_id)
        .over(partition_by=window_by, order_by=window_order)
        .label("first_tx"),
        sa.func.first_value(r.version)
        .over(partition_by=window_by, order_by=window_order)
        .label("first_version"),
        sa.func.first_value(r.chain_seq)
        .over(partition_by=window_by, order_by=window_order)
        .label("first_seq"),
    ).subquery("ranked")
    q = ranked.c
    again = sa.select(
        *_out(
            **_pick(ranked, *_VERSION, "chain_seq"),
            code=sa.literal("resolved_again"),
            subject=q.target,
            other_transaction_id=q.first_tx,
            other_version=q.first_version,
            other_chain_seq=q.first_seq,
        )
    ).where(q.rank > 1)
    return sa.union_all(bad, again).subquery("status_moves").select()


def _latest_in_status(rows: sa.FromClause, status: str, name: str) -> sa.Subquery:
    """Each transaction's highest version among its ``rows`` in ``status`` (key and seq)."""
    r = rows.c
    ranked = (
        sa.select(
            r.ledger_id,
            r.transaction_id,
            r.version,
            r.chain_seq,
            sa.func.max(r.version).over(partition_by=(r.ledger_id, r.transaction_id)).label("top"),
        )
        .where(r.status == status)
        .subquery(f"{name}_ranked")
    )
    k = ranked.c
    return (
        sa.select(k.ledger_id, k.transaction_id, k.version, k.chain_seq)
        .where(k.version == k.top)
        .subquery(name)
    )


def pending_overposted(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 4: postings that move more than the pending amount in an asset."""
    moves = ctx.moves()
    m = moves.c
    own = sa.select(
        m.ledger_id,
        m.transaction_id,
        m.version,
        m.chain_seq,
        m.transaction_id.label("other_transaction_id"),
        m.prev_version.label("other_version"),
        m.prev_seq.label("other_chain_seq"),
    ).where(m.prev_status == "pending", m.status == "posted")
    last_pending = _latest_in_status(moves, "pending", "last_pending")
    lp = last_pending.c
    linked = (
        sa.select(
            m.ledger_id,
            m.transaction_id,
            m.version,
            m.chain_seq,
            lp.transaction_id.label("other_transaction_id"),
            lp.version.label("other_version"),
            lp.chain_seq.label("other_chain_seq"),
        )
        .select_from(
            moves.join(
                last_pending,
                sa.and_(lp.ledger_id == m.ledger_id, lp.transaction_id == m.pending_transaction_id),
            )
        )
        .where(m.version == 0, m.status == "posted", m.pending_transaction_id.is_not(None))
    )
    postings = sa.union_all(own, linked).subquery("postings")
    e = ctx.entries.c
    debits = (
        sa.select(
            e.ledger_id,
            e.transaction_id,
            e.version,
            e.asset_id,
            *ExactSum.of(e.amount).total().labelled("debits"),
        )
        .where(e.direction == "debit")
        .group_by(e.ledger_id, e.transaction_id, e.version, e.asset_id)
        .cte("debits")
    )
    mine, held = debits.alias("mine"), debits.alias("held")
    s = postings.c
    held_amount = ExactSum.column(held, "debits").or_zero()
    posted_amount = ExactSum.column(mine, "debits")
    return (
        sa.select(
            *_out(
                **_pick(
                    postings,
                    *_VERSION,
                    "chain_seq",
                    "other_transaction_id",
                    "other_version",
                    "other_chain_seq",
                ),
                asset_id=mine.c.asset_id,
                expected=held_amount.text(),
                actual=posted_amount.text(),
            )
        )
        .select_from(
            postings.join(mine, _on(postings, mine, _VERSION)).outerjoin(
                held,
                sa.and_(
                    held.c.ledger_id == s.ledger_id,
                    held.c.transaction_id == s.other_transaction_id,
                    held.c.version == s.other_version,
                    held.c.asset_id == mine.c.asset_id,
                ),
            )
        )
        .where(posted_amount.greater(held_amount))
    )


def _first_rows(ctx: _Ctx, where: sa.ColumnElement[bool], by: tuple[str, ...]) -> sa.Subquery:
    """Versions matching ``where`` that come first in chain order within ``by``."""
    v = ctx.versions.c
    ranked = (
        sa.select(
            ctx.versions,
            sa.func.min(v.pos).over(partition_by=[v[name] for name in by]).label("first_pos"),
        )
        .where(where)
        .subquery()
    )
    return sa.select(ranked).where(ranked.c.pos == ranked.c.first_pos).subquery()


def idempotency_conflict(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 5: other transactions using an owned key with another payload."""
    key = ("ledger_id", "idempotency_key")
    v = ctx.versions.c
    # keys some ledger gives two transactions: the rest cannot conflict (most keys are used
    # once, so the windows below see a few rows instead of every version)
    shared = (
        sa.select(v.idempotency_key)
        .where(v.idempotency_key.is_not(None))
        .group_by(v.ledger_id, v.idempotency_key)
        .having(sa.func.min(v.transaction_id) != sa.func.max(v.transaction_id))
        .correlate(None)  # a list of its own, never the enclosing row's
    )
    firsts = _first_rows(ctx, v.idempotency_key.in_(shared), (*key, "transaction_id"))
    f = firsts.c
    ranked = sa.select(
        firsts,
        sa.func.min(f.pos).over(partition_by=(f.ledger_id, f.idempotency_key)).label("owner_pos"),
    ).subquery()
    owner = sa.select(ranked).where(ranked.c.pos == ranked.c.owner_pos).subquery("owner")
    pairs = (
        sa.select(
            f.ledger_id,
            f.idempotency_key,
            f.transaction_id,
            f.version,
            f.chain_seq,
            f.transaction_id.label("a_transaction_id"),
            f.version.label("a_version"),
            owner.c.transaction_id.label("b_transaction_id"),
            owner.c.version.label("b_version"),
            owner.c.chain_seq.label("b_chain_seq"),
        )
        .select_from(firsts.join(owner, _on(firsts, owner, key)))
        .where(f.transaction_id != owner.c.transaction_id)
        .cte("idem_pairs")
    )
    names = (*key, "transaction_id")
    unequal = _differs(ctx, pairs, names, flip=False)
    p = pairs.c
    return sa.select(
        *_out(
            **_pick(pairs, *_VERSION, "chain_seq"),
            subject=p.idempotency_key,
            other_transaction_id=p.b_transaction_id,
            other_version=p.b_version,
            other_chain_seq=p.b_chain_seq,
        )
    ).select_from(pairs.join(unequal, _on(pairs, unequal, names)))


def external_id_duplicate(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 5: first versions reusing an earlier, unlinked external id."""
    v = ctx.versions.c
    firsts = (
        sa.select(ctx.versions)
        .where(v.version == 0, v.external_id.is_not(None))
        .cte("external_firsts")
    )
    me, them = firsts.alias("me"), firsts.alias("them")

    def points(a: sa.FromClause, column: str, b: sa.FromClause) -> sa.ColumnElement[bool]:
        return sa.and_(a.c[column].is_not(None), a.c[column] == b.c.transaction_id)

    linked = sa.or_(
        points(me, "pending_transaction_id", them),
        points(me, "reverses_transaction_id", them),
        points(them, "pending_transaction_id", me),
        points(them, "reverses_transaction_id", me),
    )
    pairs = (
        sa.select(
            *[me.c[name] for name in (*_VERSION, "chain_seq", "external_id")],
            them.c.transaction_id.label("other_transaction_id"),
            them.c.version.label("other_version"),
            them.c.chain_seq.label("other_chain_seq"),
            sa.func.row_number()
            .over(
                partition_by=(me.c.ledger_id, me.c.transaction_id, me.c.version),
                order_by=them.c.pos,
            )
            .label("rank"),
            sa.func.max(sa.case((linked, 1), else_=0))
            .over(partition_by=(me.c.ledger_id, me.c.transaction_id, me.c.version))
            .label("any_linked"),
        )
        .select_from(me.join(them, _on(me, them, ("ledger_id", "external_id"))))
        .where(them.c.pos < me.c.pos, me.c.transaction_id != them.c.transaction_id)
        .subquery("external_pairs")
    )
    return sa.select(
        *_out(
            subject=pairs.c.external_id,
            **_pick(
                pairs,
                *_VERSION,
                "chain_seq",
                "other_transaction_id",
                "other_version",
                "other_chain_seq",
            ),
        )
    ).where(pairs.c.rank == 1, pairs.c.any_linked == 0)


def reversal_not_inverse(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 6: reversals that are not their original's exact inverse.

    Only the transactions some version reverses are ranked, and only the pairs found unequal
    are summed: each through an IN list (most transactions are neither).
    """
    v = ctx.versions.c
    reversed_ones = (
        sa.select(ctx.versions)
        .where(v.transaction_id.in_(sa.select(v.reverses_transaction_id).correlate(None)))
        .subquery("reversed_versions")
    )
    originals = _latest_in_status(reversed_ones, "posted", "originals")
    o = originals.c
    paired = (
        sa.select(
            *[v[name] for name in (*_VERSION, "chain_seq")],
            v.reverses_transaction_id,
            v.transaction_id.label("a_transaction_id"),
            v.version.label("a_version"),
            o.transaction_id.label("b_transaction_id"),
            o.version.label("b_version"),
            o.chain_seq.label("b_chain_seq"),
        )
        .select_from(
            ctx.versions.outerjoin(
                originals,
                sa.and_(o.ledger_id == v.ledger_id, o.transaction_id == v.reverses_transaction_id),
            )
        )
        .where(v.reverses_transaction_id.is_not(None))
        .cte("reversal_pairs")
    )
    p = paired.c
    missing = sa.select(
        *_out(
            **_pick(paired, *_VERSION, "chain_seq"),
            code=sa.literal("no_original"),
            subject=p.reverses_transaction_id,
        )
    ).where(p.b_version.is_(None))
    pairs = sa.select(paired).where(p.b_version.is_not(None)).cte("complete_pairs")
    unequal = _differs(ctx, pairs, _VERSION, flip=True)
    wrong = (
        sa.select(pairs)
        .select_from(pairs.join(unequal, _on(pairs, unequal, _VERSION)))
        .cte("wrong")
    )
    w, e = wrong.c, ctx.entries.c
    assets_of = sa.union(
        sa.select(w.ledger_id, w.transaction_id, w.version, e.asset_id).select_from(
            wrong.join(ctx.entries, _on(wrong, ctx.entries, _VERSION))
        ),
        sa.select(w.ledger_id, w.transaction_id, w.version, e.asset_id).select_from(
            wrong.join(
                ctx.entries,
                sa.and_(
                    e.ledger_id == w.ledger_id,
                    e.transaction_id == w.b_transaction_id,
                    e.version == w.b_version,
                ),
            )
        ),
    ).subquery("wrong_assets")
    sums = (
        sa.select(
            e.ledger_id,
            e.transaction_id,
            e.version,
            e.asset_id,
            *_sum(e.direction == "debit", e.amount).labelled("debits"),
            *_sum(e.direction == "credit", e.amount).labelled("credits"),
        )
        .where(
            e.transaction_id.in_(
                sa.union(sa.select(w.transaction_id), sa.select(w.b_transaction_id))
            )
        )
        .group_by(e.ledger_id, e.transaction_id, e.version, e.asset_id)
        .cte("version_sums")
    )
    mine, theirs = sums.alias("mine"), sums.alias("theirs")
    wa = assets_of.c
    actual = ExactSum.column(mine, "debits").or_zero()
    expected = ExactSum.column(theirs, "credits").or_zero()
    compared = (
        sa.select(
            w.ledger_id,
            w.transaction_id,
            w.version,
            w.chain_seq,
            w.b_transaction_id,
            w.b_version,
            w.b_chain_seq,
            wa.asset_id,
            expected.text().label("expected"),
            actual.text().label("actual"),
            sa.func.row_number()
            .over(
                partition_by=(w.ledger_id, w.transaction_id, w.version),
                order_by=(sa.case((expected.equals(actual), 1), else_=0), ctx.text(wa.asset_id)),
            )
            .label("rank"),
        )
        .select_from(
            assets_of.join(wrong, _on(assets_of, wrong, _VERSION))
            .outerjoin(
                mine, sa.and_(_on(assets_of, mine, _VERSION), mine.c.asset_id == wa.asset_id)
            )
            .outerjoin(
                theirs,
                sa.and_(
                    theirs.c.ledger_id == w.ledger_id,
                    theirs.c.transaction_id == w.b_transaction_id,
                    theirs.c.version == w.b_version,
                    theirs.c.asset_id == wa.asset_id,
                ),
            )
        )
        .subquery("compared")
    )
    c = compared.c
    not_inverse = sa.select(
        *_out(
            **_pick(compared, *_VERSION, "chain_seq", "asset_id", "expected", "actual"),
            code=sa.literal("not_inverse"),
            subject=c.b_transaction_id,
            other_transaction_id=c.b_transaction_id,
            other_version=c.b_version,
            other_chain_seq=c.b_chain_seq,
        )
    ).where(c.rank == 1)
    return sa.union_all(missing, not_inverse).subquery("reversals").select()


def reversal_duplicate(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 6: every reversal of an original after the first."""
    v = ctx.versions.c
    firsts = _first_rows(ctx, v.reverses_transaction_id.is_not(None), _TX)
    f = firsts.c
    window_by, window_order = (f.ledger_id, f.reverses_transaction_id), f.pos
    ranked = sa.select(
        firsts,
        sa.func.row_number().over(partition_by=window_by, order_by=window_order).label("rank"),
        sa.func.first_value(f.transaction_id)
        .over(partition_by=window_by, order_by=window_order)
        .label("first_tx"),
        sa.func.first_value(f.version)
        .over(partition_by=window_by, order_by=window_order)
        .label("first_version"),
        sa.func.first_value(f.chain_seq)
        .over(partition_by=window_by, order_by=window_order)
        .label("first_seq"),
    ).subquery("ranked_reversals")
    r = ranked.c
    return sa.select(
        *_out(
            **_pick(ranked, *_VERSION, "chain_seq"),
            subject=r.reverses_transaction_id,
            other_transaction_id=r.first_tx,
            other_version=r.first_version,
            other_chain_seq=r.first_seq,
        )
    ).where(r.rank > 1)


def _nulls(**columns: sa.types.TypeEngine[Any]) -> list[sa.ColumnElement[Any]]:
    """Typed NULL columns, labelled: one side's columns in a UNION ALL of unlike rows."""
    return [sa.cast(sa.null(), kind).label(name) for name, kind in columns.items()]


def balance_negative(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 7: rows where a no-negative balance goes below zero (chain order).

    Each version's span (where it starts and stops counting, the first version resolving its
    transaction joined on by key) reaches its entries through one window per version over
    both, sort-based and so able to spill within an engine's memory limit. (Joining the
    spans to the entries' sums instead was twice as fast in DuckDB, but its hash table and
    the next aggregate's ran out of memory at 10M transactions within 2 GiB.) The running
    balance is one window per account.
    """
    v, e = ctx.versions.c, ctx.entries.c
    big = sa.BigInteger()
    nexts = sa.select(
        v.ledger_id,
        v.transaction_id,
        v.version,
        v.status,
        v.pos,
        sa.func.lead(v.pos)
        .over(partition_by=(v.ledger_id, v.transaction_id), order_by=v.version)
        .label("next_pos"),
    ).subquery("nexts")
    n = nexts.c
    # per pending transaction: the first version (in chain order) that resolves it
    resolved = (
        sa.select(
            v.ledger_id,
            v.pending_transaction_id.label("transaction_id"),
            sa.func.min(v.pos).label("resolve_pos"),
        )
        .where(v.pending_transaction_id.is_not(None))
        .group_by(v.ledger_id, v.pending_transaction_id)
        .subquery("negative_resolved")
    )
    rs = resolved.c
    guarded = sa.and_(e.allow_negative == 0, e.account_check.in_(["debit", "credit"]))
    # 1. version rows (pos, next, resolution) and guarded entries, side by side.
    rows = sa.union_all(
        sa.select(
            n.ledger_id,
            n.transaction_id,
            n.version,
            n.status,
            n.pos,
            n.next_pos,
            rs.resolve_pos,
            *_nulls(**_ENTRY_TEXT),
            *ExactSum(sa.cast(sa.null(), big), sa.cast(sa.null(), big)).labelled("c"),
        ).select_from(nexts.outerjoin(resolved, _on(nexts, resolved, _TX))),
        sa.select(
            e.ledger_id,
            e.transaction_id,
            e.version,
            e.status,
            *_nulls(pos=big, next_pos=big, resolve_pos=big),
            e.account_id,
            e.asset_id,
            *ExactSum.of(_contribution(e)).labelled("c"),
        ).where(guarded),
    ).subquery("negative_rows")
    r = rows.c
    per_version = (r.ledger_id, r.transaction_id, r.version)
    spread = sa.select(
        rows,
        sa.func.max(r.pos).over(partition_by=per_version).label("start_pos"),
        sa.func.max(r.next_pos).over(partition_by=per_version).label("next_of"),
        sa.func.max(r.resolve_pos).over(partition_by=per_version).label("resolved_at"),
    ).subquery("negative_spread")
    sp = spread.c
    ends_early = sa.and_(sp.status == "pending", sp.resolved_at > sp.start_pos)
    end = sa.case(
        (
            ends_early,
            sa.case(
                (sa.or_(sp.next_of.is_(None), sp.resolved_at < sp.next_of), sp.resolved_at),
                else_=sp.next_of,
            ),
        ),
        else_=sp.next_of,
    )
    # 2. one contribution per version x account x asset, counted from start until end.
    contrib = (
        sa.select(
            sp.ledger_id,
            sp.account_id,
            sp.asset_id,
            sp.start_pos,
            end.label("end_pos"),
            *ExactSum.column(spread, "c").total().labelled("c"),
        )
        .where(sp.account_id.is_not(None))
        .group_by(
            sp.ledger_id,
            sp.transaction_id,
            sp.version,
            sp.account_id,
            sp.asset_id,
            # constant per version; PostgreSQL wants them grouped to select them
            sp.start_pos,
            sp.status,
            sp.resolved_at,
            sp.next_of,
        )
        .cte("negative_contrib")
    )
    k, kc = contrib.c, ExactSum.column(contrib, "c")
    events = sa.union_all(
        sa.select(
            k.ledger_id, k.account_id, k.asset_id, k.start_pos.label("pos"), *kc.labelled("c")
        ),
        sa.select(
            k.ledger_id, k.account_id, k.asset_id, k.end_pos.label("pos"), *(-kc).labelled("c")
        ).where(k.end_pos.is_not(None)),
    ).subquery("negative_events")
    ev = events.c
    per_pos = (
        sa.select(
            ev.ledger_id,
            ev.account_id,
            ev.asset_id,
            ev.pos,
            *ExactSum.column(events, "c").total().labelled("c"),
        )
        .group_by(ev.ledger_id, ev.account_id, ev.asset_id, ev.pos)
        .subquery("negative_per_pos")
    )
    pp = per_pos.c
    after = ExactSum.column(per_pos, "c").total(
        partition_by=(pp.ledger_id, pp.account_id, pp.asset_id),
        order_by=pp.pos,
        rows=(None, 0),
    )
    running = sa.select(per_pos, *after.labelled("after")).subquery("negative_running")
    rn = running.c
    ran, rc = ExactSum.column(running, "after"), ExactSum.column(running, "c")
    crossings = (
        sa.select(
            rn.ledger_id,
            rn.pos,
            rn.account_id,
            rn.asset_id,
            (ran - rc).text().label("before"),
            ran.text().label("after"),
            *_nulls(**_AT_POS),
        )
        .where(sa.not_((ran - rc).negative()), ran.negative())
        .cte("negative_crossings")
    )
    x = crossings.c
    # 3. locate each crossing at the version row at its chain position: the versions at a
    # crossing's position (an IN list, which every engine looks up by hash or index) meet
    # the crossings in one window per position (no join: SQLite scanned every version per
    # crossing).
    at_crossings = sa.select(
        v.ledger_id,
        v.pos,
        *_nulls(**{name: sa.Text() for name in _CROSSING_TEXT}),
        *[v[name] for name in _AT_POS],
    ).where(v.pos.in_(sa.select(x.pos)))
    located = sa.union_all(sa.select(crossings), at_crossings).subquery("negative_located")
    lc = located.c
    at_pos = (lc.ledger_id, lc.pos)
    spread_row = sa.select(
        located,
        *[sa.func.max(lc[name]).over(partition_by=at_pos).label(f"row_{name}") for name in _AT_POS],
    ).subquery("negative_rows_at")
    q = spread_row.c
    return sa.select(
        *_out(
            ledger_id=q.ledger_id,
            transaction_id=q.row_transaction_id,
            version=q.row_version,
            chain_seq=q.row_chain_seq,
            account_id=q.account_id,
            asset_id=q.asset_id,
            expected=q.before,
            actual=q.after,
        )
    ).where(q.account_id.is_not(None))


_CROSSING_TEXT = ("account_id", "asset_id", "before", "after")
_ENTRY_TEXT = {name: VIOLATION_COLUMNS[name] for name in ("account_id", "asset_id")}
"""The entry rows' own text in ``balance_negative``'s union (NULL in the version rows)."""
_AT_POS = {name: VIOLATION_COLUMNS[name] for name in ("transaction_id", "version", "chain_seq")}
"""The version row's columns that locate a crossing found at its chain position."""


def _contribution(e: sa.ColumnCollection[str, sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
    """What one entry adds to its account's available balance while its version counts."""
    credit = e.normal_balance == "credit"
    debit = e.direction == "debit"
    signed = sa.case(
        (credit, sa.case((debit, -e.amount), (e.direction == "credit", e.amount), else_=0)),
        else_=sa.case((debit, e.amount), (e.direction == "credit", -e.amount), else_=0),
    )
    hold_direction = sa.case((credit, sa.literal("debit")), else_=sa.literal("credit"))
    held = sa.case((e.direction == hold_direction, -e.amount), else_=0)
    return sa.case((e.status == "posted", signed), (e.status == "pending", held), else_=0)


def chain_gap(ctx: _Ctx) -> sa.Select[Any]:
    """Invariant 8: gaps in each ledger's chain_seq from 1 (actual: the seqs the ledger holds)."""
    v = ctx.versions.c
    ranked = (
        sa.select(
            v.ledger_id,
            v.transaction_id,
            v.version,
            v.chain_seq,
            sa.func.row_number()
            .over(
                partition_by=(v.ledger_id, v.chain_seq),
                order_by=(ctx.text(v.transaction_id), v.version),
            )
            .label("rank"),
        )
        .where(v.chain_seq.is_not(None))
        .subquery("seq_rows")
    )
    q = ranked.c
    rows = (
        sa.select(q.ledger_id, q.transaction_id, q.version, q.chain_seq)
        .where(q.rank == 1)
        .subquery("seq_firsts")
    )
    r = rows.c
    previous = sa.select(
        rows,
        sa.func.coalesce(
            sa.func.lag(r.chain_seq).over(partition_by=r.ledger_id, order_by=r.chain_seq), 0
        ).label("prev"),
        sa.func.count().over(partition_by=r.ledger_id).label("held"),
    ).subquery("seq_prev")
    p = previous.c
    return sa.select(
        *_out(
            ledger_id=p.ledger_id,
            chain_seq=p.prev + 1,
            expected=p.chain_seq - 1,
            actual=sa.cast(p.held, sa.BigInteger),
            other_transaction_id=p.transaction_id,
            other_version=p.version,
            other_chain_seq=p.chain_seq,
        )
    ).where(p.prev + 1 <= p.chain_seq - 1)


INVARIANTS: dict[str, Callable[[_Ctx], sa.Select[Any]]] = {
    "entry_unbalanced": entry_unbalanced,
    "empty_version": empty_version,
    "ledger_unbalanced": ledger_unbalanced,
    "status_invalid_move": status_invalid_move,
    "pending_overposted": pending_overposted,
    "idempotency_conflict": idempotency_conflict,
    "external_id_duplicate": external_id_duplicate,
    "reversal_not_inverse": reversal_not_inverse,
    "reversal_duplicate": reversal_duplicate,
    "balance_negative": balance_negative,
    "chain_gap": chain_gap,
}


def violations_query(
    invariant: str, batch: Selectable, dialect: str, versions: sa.TableClause | None = None
) -> sa.Select[Any]:
    """The SELECT of one invariant's violations over the ``legs`` rows in ``batch``.

    ``versions``: a relation holding :func:`versions_query`'s rows over ``batch``.
    """
    return INVARIANTS[invariant](_Ctx(batch, dialect, versions))


def versions_query(batch: Selectable, dialect: str) -> sa.Select[Any]:
    """One row per version of the ``legs`` in ``batch`` (VERSION_COLUMNS).

    The rows every invariant derives: an engine may hold them once for all of them
    (``violations_query``'s ``versions``).
    """
    return sa.select(_Ctx(batch, dialect).versions)
