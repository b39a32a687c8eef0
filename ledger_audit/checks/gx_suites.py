"""Run the invariant suites through great-expectations: the only module that imports GX.

Importing GX costs seconds, so nothing imports this module eagerly: ``checks.invariants``
imports it inside the check functions. It registers one custom metric and one custom
expectation per invariant of ``checks.engines.INVARIANT_NAMES``, each metric implemented for
GX's pandas engine and its SQLAlchemy engine by running the invariant's one statement
(``sources.invariant_sql.violations_query``): on the frame path, in DuckDB over the batch's
``legs`` frame (``checks.engines.FrameEngine``); on the SQL path, inside the database. It runs
suites on a pandas ``legs`` frame or on a ``legs`` query asset of a read-only database.

GX objects stay here; callers get :class:`ExpectationOutcome` records holding polars frames.
"""

# ruff: noqa: ANN401, PLR0917 - GX is untyped, and its metric functions take six positionals
from __future__ import annotations

import json
import os
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx
import great_expectations.execution_engine.pandas_execution_engine as gx_pandas_engine
import pandas as pd
import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from great_expectations.core.metric_domain_types import MetricDomainTypes
from great_expectations.data_context.types.base import ProgressBarsConfig
from great_expectations.execution_engine.pandas_execution_engine import PandasExecutionEngine
from great_expectations.execution_engine.sqlalchemy_execution_engine import (
    SqlAlchemyExecutionEngine,
)
from great_expectations.expectations.expectation import BatchExpectation
from great_expectations.expectations.expectation_configuration import (
    ExpectationConfiguration,
)
from great_expectations.expectations.metrics.metric_provider import metric_value
from great_expectations.expectations.metrics.table_metric_provider import (
    TableMetricProvider,
)

from ledger_audit.checks.engines import (
    INVARIANT_NAMES,
    VIOLATION_ORDER,
    FrameEngine,
    violations_on,
)
from ledger_audit.checks.invariant_rules import (
    LEGS_SCHEMA,
    VIOLATION_SCHEMA,
    legs_schema,
    violations_from_rows,
    violations_to_rows,
)
from ledger_audit.checks.suite_files import ExpectationSpec, SuiteSpec
from ledger_audit.errors import REASON_CHARS, excerpt
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources.invariant_sql import (
    legs_sql,
    read_only_database,
    violations_query,
)

EXPECTATION_CLASSES: dict[str, str] = {
    "entry_unbalanced": "ExpectTransactionVersionsToBalancePerAsset",
    "empty_version": "ExpectPostedVersionsToHaveEntries",
    "ledger_unbalanced": "ExpectLedgerToBalancePerAsset",
    "status_invalid_move": "ExpectStatusMovesToBeLegal",
    "pending_overposted": "ExpectPostingsToStayWithinPendingAmounts",
    "idempotency_conflict": "ExpectIdempotencyKeysToMapToOnePayload",
    "external_id_duplicate": "ExpectExternalIdsToBeUniquePerLedger",
    "reversal_not_inverse": "ExpectReversalsToBeExactInverses",
    "reversal_duplicate": "ExpectOneReversalPerTransaction",
    "balance_negative": "ExpectNoNegativeAvailableBalances",
    "chain_gap": "ExpectChainSeqToBeContiguous",
}
"""The custom expectation class of each invariant (its GX type is the snake_case name)."""

CUSTOM_TYPES = frozenset(
    re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() for name in EXPECTATION_CLASSES.values()
)
"""The GX types of the custom expectations (``expect_chain_seq_to_be_contiguous``, ...)."""

INDEX_COLUMNS = (
    "ledger_id",
    "transaction_id",
    "version",
    "chain_seq",
    "entry_index",
    "account_id",
    "asset_id",
    "amount",
)
"""The ``legs`` columns GX returns for each unexpected row of a built-in expectation."""

gx_pandas_engine.HASH_THRESHOLD = 0
"""GX's pandas engine hashes every batch frame below this many bytes (1e9 as shipped) into a
``pandas_data_fingerprint`` batch marker, twice per batch (when it is made and again when it
is validated). Nothing here reads the marker, and the row-wise expectations run on slices of
:data:`CHUNK_ROWS` rows, each below the threshold: the hashing was 4 of the 9 s the built-in
expectations took over the 1M demo's legs. At 0 no frame is hashed."""

_COVERAGE = "ledger_invariant.coverage"
_ASSET = "legs"


@dataclass(frozen=True, slots=True)
class ExpectationOutcome:
    """What one expectation found.

    Attributes:
        suite: the suite it belongs to.
        spec: the expectation.
        success: GX's verdict.
        error: the exception message when it raised (then nothing else is meaningful).
        rows: the unexpected rows: VIOLATION_SCHEMA for a custom expectation, the
            INDEX_COLUMNS and the expectation's own columns (legs dtypes) for a built-in one.
    """

    suite: str
    spec: ExpectationSpec
    success: bool
    error: str | None
    rows: pl.DataFrame


@dataclass(frozen=True, slots=True)
class SuiteRun:
    """Every outcome of one run, and what the run covered.

    Attributes:
        outcomes: one per expectation, suites in order.
        versions: transaction versions in the batch.
        entries: entries in the batch.
    """

    outcomes: tuple[ExpectationOutcome, ...]
    versions: int
    entries: int


# --- custom metrics and expectations ----------------------------------------------------


def _table(execution_engine: Any, domain: dict[str, Any]) -> Any:
    data, _, _ = execution_engine.get_compute_domain(
        domain_kwargs=domain, domain_type=MetricDomainTypes.TABLE
    )
    return data


def _rows(result: sa.CursorResult[Any]) -> pl.DataFrame:
    rows = [dict(row._mapping) for row in result]  # noqa: SLF001 - SQLAlchemy's public row API
    return violations_from_rows(rows)


def _metric_class(invariant: str) -> type[TableMetricProvider]:
    """A table metric: the invariant's violations as a list of plain dicts."""

    def pandas_fn(
        cls: Any,  # noqa: ARG001 - GX's metric signature
        execution_engine: PandasExecutionEngine,
        metric_domain_kwargs: dict[str, Any],
        metric_value_kwargs: dict[str, Any],  # noqa: ARG001
        metrics: dict[str, Any],  # noqa: ARG001
        runtime_configuration: dict[str, Any],  # noqa: ARG001
    ) -> list[dict[str, Any]]:
        frame = _table(execution_engine, metric_domain_kwargs)
        known = _known(frame)
        if known is not None:
            found: list[dict[str, Any]] = violations_to_rows(violations_on(known, invariant))
            return found
        engine = FrameEngine(from_pandas(frame))  # a copy GX made: read it once, here
        try:
            return violations_to_rows(violations_on(engine, invariant))
        finally:
            engine.close()

    def sql_fn(
        cls: Any,  # noqa: ARG001 - GX's metric signature
        execution_engine: SqlAlchemyExecutionEngine,
        metric_domain_kwargs: dict[str, Any],
        metric_value_kwargs: dict[str, Any],  # noqa: ARG001
        metrics: dict[str, Any],  # noqa: ARG001
        runtime_configuration: dict[str, Any],  # noqa: ARG001
    ) -> list[dict[str, Any]]:
        batch = _table(execution_engine, metric_domain_kwargs)
        query = violations_query(invariant, batch, execution_engine.engine.dialect.name)
        frame = _rows(execution_engine.execute_query(query))
        found: list[dict[str, Any]] = violations_to_rows(
            frame.sort(VIOLATION_ORDER, nulls_last=True)
        )
        return found

    namespace = {
        "metric_name": f"ledger_invariant.{invariant}",
        "_pandas": metric_value(engine=PandasExecutionEngine)(pandas_fn),
        "_sqlalchemy": metric_value(engine=SqlAlchemyExecutionEngine)(sql_fn),
    }
    return type(f"LedgerInvariant_{invariant}", (TableMetricProvider,), namespace)


class LedgerInvariantExpectation(BatchExpectation):
    """Base of the custom invariant expectations: success is no violation row."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ()
    domain_keys: ClassVar[tuple[str, ...]] = ("batch_id", "row_condition", "condition_parser")
    success_keys: ClassVar[tuple[str, ...]] = ()

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,  # noqa: ARG002 - GX signature
        execution_engine: Any = None,  # noqa: ARG002
    ) -> dict[str, Any]:
        found: list[dict[str, Any]] = metrics[self.metric_dependencies[0]]
        return {
            "success": not found,
            "result": {
                "observed_value": len(found),
                "unexpected_count": len(found),
                "details": {"violations": found},
            },
        }


def _expectation_class(invariant: str) -> type[BatchExpectation]:
    namespace = {
        "metric_dependencies": (f"ledger_invariant.{invariant}",),
        "__doc__": f"Custom invariant ``{invariant}`` (ledger_audit.sources.invariant_sql).",
    }
    return type(EXPECTATION_CLASSES[invariant], (LedgerInvariantExpectation,), namespace)


def _coverage_pandas(
    cls: Any,  # noqa: ARG001 - GX's metric signature
    execution_engine: PandasExecutionEngine,
    metric_domain_kwargs: dict[str, Any],
    metric_value_kwargs: dict[str, Any],  # noqa: ARG001
    metrics: dict[str, Any],  # noqa: ARG001
    runtime_configuration: dict[str, Any],  # noqa: ARG001
) -> dict[str, int]:
    legs = from_pandas(_table(execution_engine, metric_domain_kwargs))
    keys = legs.select("ledger_id", "transaction_id", "version", "has_version")  # not 22 columns
    stored = keys.filter(pl.col("has_version") == 1).drop("has_version")
    return {
        "versions": distinct_rows(stored),
        "entries": legs.height - legs.get_column("entry_index").null_count(),
    }


def distinct_rows(keys: pl.DataFrame) -> int:
    """How many distinct rows ``keys`` holds (nulls equal, as ``n_unique`` counts them).

    Rows in ascending key order (the legs always are: ``prepare_legs``) are counted by
    comparing neighbours, without the hash table of ``n_unique`` (0.4 GiB over the 1M
    demo's three text keys); any other order is counted by hashing.
    """
    if keys.height == 0:
        return 0
    rises = pl.lit(value=False)
    same = pl.lit(value=True)
    for column in keys.columns:
        new, old = pl.col(column), pl.col(column).shift(1)
        rises = rises | (same & (new > old))
        same = same & new.eq_missing(old)
    # a null compares as unknown: such rows fall back to hashing
    ordered = keys.select(
        (rises.fill_null(value=False) | same).slice(1).all().alias("ordered"),
        (~same).slice(1).sum().alias("changes"),
    )
    in_order, changes = ordered.row(0)
    if in_order:
        return int(changes) + 1  # the first row, then each row unlike the one before
    return keys.n_unique()


def _coverage_sql(
    cls: Any,  # noqa: ARG001 - GX's metric signature
    execution_engine: SqlAlchemyExecutionEngine,
    metric_domain_kwargs: dict[str, Any],
    metric_value_kwargs: dict[str, Any],  # noqa: ARG001
    metrics: dict[str, Any],  # noqa: ARG001
    runtime_configuration: dict[str, Any],  # noqa: ARG001
) -> dict[str, int]:
    batch = _table(execution_engine, metric_domain_kwargs)
    names = ("ledger_id", "transaction_id", "version", "has_version", "entry_index")
    columns: list[sa.ColumnClause[Any]] = [sa.column(name) for name in names]
    legs = sa.select(*columns).select_from(batch)
    counted = legs.subquery("counted")
    c = counted.c
    distinct_versions = (
        sa.select(c.ledger_id, c.transaction_id, c.version)
        .where(c.has_version == 1)
        .distinct()
        .subquery("distinct_versions")
    )
    versions = sa.select(sa.func.count()).select_from(distinct_versions).scalar_subquery()
    entries = sa.select(sa.func.count(c.entry_index)).scalar_subquery()
    row = execution_engine.execute_query(sa.select(versions, entries)).one()
    return {"versions": int(row[0]), "entries": int(row[1])}


LedgerInvariantCoverage = type(
    "LedgerInvariantCoverage",
    (TableMetricProvider,),
    {
        "metric_name": _COVERAGE,
        "_pandas": metric_value(engine=PandasExecutionEngine)(_coverage_pandas),
        "_sqlalchemy": metric_value(engine=SqlAlchemyExecutionEngine)(_coverage_sql),
    },
)


class ExpectLedgerInvariantCoverage(BatchExpectation):
    """Not an invariant: reports how many versions and entries the batch holds."""

    metric_dependencies: ClassVar[tuple[str, ...]] = (_COVERAGE,)
    domain_keys: ClassVar[tuple[str, ...]] = ("batch_id", "row_condition", "condition_parser")
    success_keys: ClassVar[tuple[str, ...]] = ()

    def _validate(
        self,
        metrics: dict[str, Any],
        runtime_configuration: dict[str, Any] | None = None,  # noqa: ARG002 - GX signature
        execution_engine: Any = None,  # noqa: ARG002
    ) -> dict[str, Any]:
        return {"success": True, "result": {"observed_value": metrics[_COVERAGE]}}


METRICS = {name: _metric_class(name) for name in INVARIANT_NAMES}
EXPECTATIONS = {name: _expectation_class(name) for name in INVARIANT_NAMES}
"""Registered with GX when this module is imported (GX registers classes on definition)."""


# --- running ------------------------------------------------------------------------------


def _context() -> Any:
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _gx_suite(suite: SuiteSpec, indices: Sequence[int] | None = None) -> gx.ExpectationSuite:
    """The suite for GX; with ``indices``, only those of its expectations (same meta)."""
    gx_suite = gx.ExpectationSuite(name=suite.name)
    for index, spec in enumerate(suite.expectations):
        if indices is not None and index not in indices:
            continue
        gx_suite.add_expectation_configuration(
            ExpectationConfiguration(
                type=spec.type,
                kwargs=json.loads(spec.kwargs_json),
                meta={
                    "rule": str(spec.rule),
                    "severity": str(spec.severity),
                    "doc": spec.doc,
                    "index": index,  # GX reorders results: this finds the spec again
                },
            )
        )
    return gx_suite


def _plain(value: object) -> object:
    """A numpy or pandas scalar as a Python value (``pd.NA`` as None)."""
    if value is None or value is pd.NA:
        return None
    item: Callable[[], object] | None = getattr(value, "item", None)
    return item() if item is not None else value


def _wide(value: object) -> bool:
    """An amount the Int64 ``legs`` column cannot take: a Decimal, or an int beyond int64."""
    plain = _plain(value)
    return isinstance(plain, Decimal) or (isinstance(plain, int) and not -(2**63) <= plain < 2**63)


def _error(exception_info: dict[str, Any]) -> str | None:
    """The exception message GX recorded for an expectation, if it raised, cut short.

    A database error quotes its whole statement: the crash finding keeps an excerpt.
    """
    if exception_info.get("raised_exception"):
        return excerpt(str(exception_info.get("exception_message")), REASON_CHARS)
    for info in exception_info.values():
        if isinstance(info, dict) and info.get("raised_exception"):
            return excerpt(str(info.get("exception_message")), REASON_CHARS)
    return None


def _outcome(suite: str, spec: ExpectationSpec, results: Sequence[Any]) -> ExpectationOutcome:
    """One expectation's outcome from its GX results: one, or one per slice of the rows.

    A row-wise expectation runs slice by slice (:func:`run_frame_suites`); its results come
    in row order, and their unexpected rows concatenate to those of the whole frame.
    """
    errors = [e for r in results if (e := _error(r.exception_info or {})) is not None]
    error = errors[0] if errors else None
    bodies: list[dict[str, Any]] = [r.result or {} for r in results]
    if error is not None:
        rows = pl.DataFrame(schema=VIOLATION_SCHEMA)
    elif spec.type in CUSTOM_TYPES:
        rows = violations_from_rows([v for body in bodies for v in body["details"]["violations"]])
    else:
        found = [row for body in bodies for row in body.get("unexpected_index_list") or []]
        columns = list(dict.fromkeys([*INDEX_COLUMNS, *(name for row in found for name in row)]))
        wide = any(_wide(row.get("amount")) for row in found)
        legs = legs_schema(WIDE_AMOUNT) if wide else LEGS_SCHEMA
        schema = {name: legs[name] for name in columns if name in legs}
        rows = pl.DataFrame(
            [{name: _plain(row.get(name)) for name in schema} for row in found],
            schema=schema,
            orient="row",
        )
    success = all(bool(r.success) for r in results)
    return ExpectationOutcome(suite, spec, success, error, rows)


_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": list(INDEX_COLUMNS),
}


def _run(batch: Any, suites: Sequence[SuiteSpec]) -> SuiteRun:
    outcomes: list[ExpectationOutcome] = []
    for suite in suites:
        validated = batch.validate(_gx_suite(suite), result_format=_RESULT_FORMAT)
        outcomes.extend(
            _outcome(
                suite.name,
                suite.expectations[int(result.expectation_config.meta["index"])],
                [result],
            )
            for result in validated.results
        )
    counted = batch.validate(ExpectLedgerInvariantCoverage())
    covered: dict[str, int] = counted.result["observed_value"]
    return SuiteRun(tuple(outcomes), covered["versions"], covered["entries"])


def to_pandas(legs: pl.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The ``legs`` frame (or those of its ``columns``) for GX's pandas engine, backed by Arrow.

    No value becomes a Python object: the pandas frame holds Arrow buffers (strings as
    ``large_string``: a copy of polars' string views), and each metric reads it back into
    polars without a copy (:func:`from_pandas`). An object-dtype copy of the entries cost
    several times their size. The one exception is an integer column without nulls, which
    becomes NumPy ``int64`` (the same integers, never a float): GX's pandas
    ``expect_column_values_to_be_between`` compares NumPy ``int``/``float`` columns
    vectorised but calls a Python function per value on any other dtype, Arrow's included
    (about 6 CPU s per million transactions for the entries suite's two range checks).
    """
    schema = legs_schema(legs.schema["amount"])
    chosen = list(schema) if columns is None else [n for n in schema if n in columns]
    table = legs.select([pl.col(n).cast(schema[n]) for n in chosen]).to_arrow(
        compat_level=pl.CompatLevel.oldest()
    )
    frame = table.to_pandas(types_mapper=pd.ArrowDtype)
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_int64(column.type) and column.null_count == 0:
            frame[name] = column.to_numpy()
    return frame


_BATCHES: dict[int, tuple[weakref.ref[pd.DataFrame], FrameEngine]] = {}
"""The DuckDB engine over the polars frame each live batch frame was exported from, by the
pandas frame's id."""

_ROWLESS = "ledger_audit.rowless_batch"
"""``DataFrame.attrs`` key of a batch frame that holds the legs' columns but none of its
rows (pandas carries ``attrs`` into copies): a metric handed such a frame, or a copy of it,
must read the registered engine, never convert it."""


def _known(frame: pd.DataFrame) -> FrameEngine | None:
    known = _BATCHES.get(id(frame))
    return known[1] if known is not None and known[0]() is frame else None


def from_pandas(frame: pd.DataFrame) -> pl.DataFrame:
    """The polars ``legs`` frame of a batch :func:`to_pandas` made (amount Int64 or wide).

    While :func:`run_frame_suites` runs, the batch's own pandas frame maps to the engine over
    the polars frame it was exported from (same values: the pandas frame only views its Arrow
    buffers), so a metric reads it without converting 2.7M rows once per invariant. Any
    other frame (GX handed a copy, a row condition) is converted from its Arrow columns;
    a copy of a rowless batch frame cannot be, and raises (the expectation then crashes).
    """
    known = _known(frame)
    if known is not None:
        return known.legs
    if frame.attrs.get(_ROWLESS):
        message = "GX handed the metric a copy of the rowless batch frame: no legs to read"
        raise RuntimeError(message)
    legs = pl.from_arrow(pa.Table.from_pandas(frame, preserve_index=False))
    assert isinstance(legs, pl.DataFrame)  # noqa: S101 - a table gives a frame
    return legs.cast(legs_schema(legs.schema["amount"]))  # type: ignore[arg-type]


CHUNK_ROWS = 500_000
"""Rows of ``legs`` GX's pandas engine holds at a time for the row-wise expectations."""

ROW_WISE = frozenset(
    {
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_null",
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_a_to_be_greater_than_b",
    }
)
"""Built-in expectations that judge each row alone: on consecutive slices of the rows their
unexpected rows, concatenated, are those of the whole frame, in the same order, and they
succeed when every slice does. Under ``mostly`` (a share of all rows) an expectation is not
row-wise any more and sees the whole frame."""


def _sliced(spec: ExpectationSpec) -> bool:
    return spec.type in ROW_WISE and "mostly" not in json.loads(spec.kwargs_json)


def _named_columns(specs: Sequence[ExpectationSpec]) -> tuple[str, ...]:
    """INDEX_COLUMNS and every ``legs`` column the expectations' kwargs name.

    Row conditions included: any whole word of the kwargs that is a column counts.
    """
    words = {w for spec in specs for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", spec.kwargs_json)}
    return tuple(dict.fromkeys([*INDEX_COLUMNS, *(n for n in LEGS_SCHEMA if n in words)]))


def run_frame_suites(legs: pl.DataFrame, suites: Sequence[SuiteSpec]) -> SuiteRun:
    """Validate ``suites`` on the ``legs`` frame through GX's pandas engine.

    No pandas copy of every leg: the custom expectations and the coverage read the polars
    frame through DuckDB (:class:`FrameEngine`), so their batch frame is rowless unless an
    expectation needs rows in pandas (a custom one with kwargs, such as a row condition, or
    a built-in one that is not row-wise). The row-wise built-in expectations run on slices
    of :data:`CHUNK_ROWS` rows holding only the columns they and the unexpected-row index
    name; their results are merged (:func:`_outcome`). Outcomes come suite by suite, in each
    suite's file order.
    """
    source = _context().data_sources.add_pandas("ledger_frames")
    definition = source.add_dataframe_asset(_ASSET).add_batch_definition_whole_dataframe("all")

    def batch(frame: pd.DataFrame) -> Any:
        return definition.get_batch(batch_parameters={"dataframe": frame})

    sliced = {
        (s, i)
        for s, suite in enumerate(suites)
        for i, spec in enumerate(suite.expectations)
        if _sliced(spec)
    }
    needs_rows = any(
        spec.type not in CUSTOM_TYPES or spec.kwargs_json != "{}"
        for s, suite in enumerate(suites)
        for i, spec in enumerate(suite.expectations)
        if (s, i) not in sliced
    )
    frame = to_pandas(legs if needs_rows else legs.clear())
    if not needs_rows:
        frame.attrs[_ROWLESS] = True
    engine = FrameEngine(legs)
    _BATCHES[id(frame)] = (weakref.ref(frame), engine)
    results: dict[tuple[int, int], list[Any]] = {}

    def validate(on: Any, s: int, indices: Sequence[int]) -> None:
        if not indices:
            return
        validated = on.validate(_gx_suite(suites[s], indices), result_format=_RESULT_FORMAT)
        for result in validated.results:
            results.setdefault((s, int(result.expectation_config.meta["index"])), []).append(result)

    try:
        whole = batch(frame)
        for s, suite in enumerate(suites):
            validate(whole, s, [i for i in range(len(suite.expectations)) if (s, i) not in sliced])
        counted = whole.validate(ExpectLedgerInvariantCoverage())
        if not counted.success:  # a coverage that cannot be read is no coverage: raise
            message = f"the coverage metric failed: {_error(counted.exception_info or {})}"
            raise RuntimeError(message)
        covered: dict[str, int] = counted.result["observed_value"]
    finally:
        del _BATCHES[id(frame)]
        engine.close()
    del frame
    columns = _named_columns([suites[s].expectations[i] for s, i in sorted(sliced)])
    for offset in range(0, max(legs.height, 1) if sliced else 0, CHUNK_ROWS):
        part = batch(to_pandas(legs.slice(offset, CHUNK_ROWS), columns))
        for s, suite in enumerate(suites):
            validate(part, s, [i for i in range(len(suite.expectations)) if (s, i) in sliced])
    outcomes = tuple(
        _outcome(suite.name, spec, results[s, i])
        for s, suite in enumerate(suites)
        for i, spec in enumerate(suite.expectations)
    )
    return SuiteRun(outcomes, covered["versions"], covered["entries"])


def run_sql_suites(url: str, suites: Sequence[SuiteSpec]) -> SuiteRun:
    """Validate ``suites`` inside the database at ``url`` (SQLite or PostgreSQL), read-only."""
    with read_only_database(url) as read_only:
        dialect = sa.make_url(read_only).get_dialect()()
        sources = _context().data_sources
        if dialect.name == "sqlite":
            source = sources.add_sqlite("ledger_db", connection_string=read_only)
        else:
            source = sources.add_postgres("ledger_db", connection_string=read_only)
        asset = source.add_query_asset(_ASSET, query=legs_sql(dialect))
        batch = asset.add_batch_definition_whole_table("all").get_batch()
        return _run(batch, suites)
