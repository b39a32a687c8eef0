"""The invariant suites on Spark: each invariant's one SQLAlchemy statement, run by ``spark.sql``.

``sources.invariant_sql`` builds every custom invariant as one SELECT over the ``legs`` rows;
here ``legs`` is a cached Spark view of ``legs_query()`` and each statement is compiled with
the Spark dialect. The built-in expectations of the suites (amount between, value in set,
column pair equal) are the same predicates GX applies, written once as statements too. The
outcomes go through ``checks.invariants``' own finding builders, so a violation reads the
same whichever engine found it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import polars as pl
import sqlalchemy as sa

from ledger_audit.checks.invariant_rules import LEGS_SCHEMA, violations_from_rows
from ledger_audit.checks.invariants import (
    check_invariants,
    ran_on_frames,
    suite_result,
    wide_entry,
    with_not_provable,
)
from ledger_audit.checks.suite_files import SUITES_DIR, ExpectationSpec, SuiteSpec, read_suites
from ledger_audit.errors import REASON_CHARS, excerpt
from ledger_audit.findings import CheckResult, Coverage, empty_findings
from ledger_audit.sources.invariant_sql import (
    LEG_COLUMNS,
    VIOLATION_COLUMNS,
    legs_query,
    violations_query,
)
from ledger_audit.spark.dialect import spark_sql
from ledger_audit.spec import VerifySpec

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from ledger_audit.checks.gx_suites import ExpectationOutcome, SuiteRun
    from ledger_audit.sources.ledger_frames import LedgerFrames

CHECK = "invariants"
LEGS_VIEW = "legs"

_POLARS_OF = {
    sa.Text: pl.String(),
    sa.BigInteger: pl.Int64(),
}


def violation_schema() -> dict[str, pl.DataType]:
    """VIOLATION_COLUMNS as polars dtypes (the two amounts still text)."""
    return {
        name: next(d for kind, d in _POLARS_OF.items() if isinstance(sql_type, kind))
        for name, sql_type in VIOLATION_COLUMNS.items()
    }


class SparkQueryEngine:
    """A SQLAlchemy statement in, a polars frame out, run by Spark.

    Satisfies ``checks.engines.QueryEngine`` (``name``, ``dialect``, ``fetch``,
    ``shared_versions``), so ``checks.engines.violations_on`` runs any invariant on it;
    ``dialect`` names the SQL family the statements are built for (PostgreSQL's; the Spark
    dialect respells it).
    """

    name = "spark"
    dialect = "postgresql"

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    def rows(self, statement: sa.Select[Any]) -> pl.DataFrame:
        """Run ``statement`` on Spark; columns as Spark typed them (exact: never a double)."""
        table = self.spark.sql(spark_sql(statement)).toArrow()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)  # noqa: S101 - a table gives a frame
        return frame

    def shared_versions(self) -> None:
        """None: each statement derives the versions (Spark caches the ``legs`` they come from)."""

    def fetch(self, statement: sa.Select[Any]) -> pl.DataFrame:
        """An invariant statement's rows as a VIOLATION_SCHEMA frame (exact Decimal amounts)."""
        raw = self.rows(statement).cast(violation_schema())  # type: ignore[arg-type]
        return violations_from_rows(raw.to_dicts())  # violations are few: no hot path


def legs_table() -> sa.TableClause:
    """The ``legs`` view as a table the statements select from."""
    return sa.table(LEGS_VIEW, *[sa.column(name) for name in LEG_COLUMNS])


def register_legs(spark: SparkSession) -> None:
    """``legs`` over the canonical views, cached: every statement reads it."""
    spark.sql(spark_sql(legs_query())).cache().createOrReplaceTempView(LEGS_VIEW)


# --- the suites ---------------------------------------------------------------------------


def _builtin_condition(
    spec: ExpectationSpec, legs: sa.TableClause
) -> tuple[sa.ColumnElement[bool], tuple[str, ...]] | None:
    """GX's unexpected-row predicate of a built-in expectation and the columns it reads."""
    kwargs: dict[str, Any] = json.loads(spec.kwargs_json)
    c = legs.c
    if spec.type == "expect_column_values_to_be_between":
        column = c[kwargs["column"]]
        outside = [
            *([column < kwargs["min_value"]] if kwargs.get("min_value") is not None else []),
            *([column > kwargs["max_value"]] if kwargs.get("max_value") is not None else []),
        ]
        return sa.and_(column.is_not(None), sa.or_(*outside)), (kwargs["column"],)
    if spec.type == "expect_column_values_to_be_in_set":
        column = c[kwargs["column"]]
        return sa.and_(column.is_not(None), column.not_in(kwargs["value_set"])), (kwargs["column"],)
    if (
        spec.type == "expect_column_pair_values_to_be_equal"
        and kwargs.get("ignore_row_if") == "either_value_is_missing"
    ):
        a, b = c[kwargs["column_A"]], c[kwargs["column_B"]]
        both = sa.and_(a.is_not(None), b.is_not(None), a != b)
        return both, (kwargs["column_A"], kwargs["column_B"])
    return None


def _outcome(engine: SparkQueryEngine, suite: str, spec: ExpectationSpec) -> ExpectationOutcome:
    from ledger_audit.checks.gx_suites import (  # noqa: PLC0415 - GX is slow to import
        CUSTOM_TYPES,
        EXPECTATION_CLASSES,
        INDEX_COLUMNS,
        ExpectationOutcome,
    )

    legs = legs_table()
    if spec.type in CUSTOM_TYPES:
        invariant = {_snake(cls): name for name, cls in EXPECTATION_CLASSES.items()}[spec.type]
        rows = engine.fetch(violations_query(invariant, legs, engine.dialect))
        return ExpectationOutcome(suite, spec, rows.is_empty(), None, rows)
    built = _builtin_condition(spec, legs)
    if built is None:
        error = f"{spec.type} with these arguments has no Spark statement"
        return ExpectationOutcome(suite, spec, False, error, pl.DataFrame())  # noqa: FBT003
    condition, own = built
    names = list(dict.fromkeys([*INDEX_COLUMNS, *own]))
    found = engine.rows(sa.select(*[legs.c[n] for n in names]).where(condition))
    rows = found.cast({n: LEGS_SCHEMA[n] for n in names})
    return ExpectationOutcome(suite, spec, rows.is_empty(), None, rows)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def run_spark_suites(spark: SparkSession, suites: Sequence[SuiteSpec]) -> SuiteRun:
    """Every expectation of ``suites`` over the ``legs`` view, in suite order."""
    from ledger_audit.checks.gx_suites import SuiteRun  # noqa: PLC0415 - GX is slow to import

    engine = SparkQueryEngine(spark)
    outcomes = []
    for suite in suites:
        for spec in suite.expectations:
            try:
                outcomes.append(_outcome(engine, suite.name, spec))
            except Exception as error:  # noqa: BLE001 - one failed statement is one crash finding
                from ledger_audit.checks.gx_suites import ExpectationOutcome  # noqa: PLC0415

                text = excerpt(str(error).strip() or repr(error), REASON_CHARS)
                outcomes.append(
                    ExpectationOutcome(suite.name, spec, False, text, pl.DataFrame())  # noqa: FBT003
                )
    legs = legs_table()
    versions = (
        sa.select(legs.c.ledger_id, legs.c.transaction_id, legs.c.version)
        .where(legs.c.has_version == 1)
        .distinct()
        .subquery("distinct_versions")
    )
    counts = engine.rows(
        sa.select(
            sa.select(sa.func.count()).select_from(versions).scalar_subquery().label("versions"),
            sa.select(sa.func.count(legs.c.entry_index)).scalar_subquery().label("entries"),
        )
    ).row(0, named=True)
    return SuiteRun(tuple(outcomes), int(counts["versions"]), int(counts["entries"]))


def check_invariants_spark(
    frames: LedgerFrames,
    spec: VerifySpec,
    spark: SparkSession,
    where: str,
    suites: Sequence[SuiteSpec] | None = None,
) -> CheckResult:
    """The ``invariants`` check with the statements on Spark (``where``: the views' origin).

    As on the SQL path, a ledger with an amount beyond int64 runs on the frames instead (the
    statements sum BIGINT halves), and the coverage says so.
    """
    if spec.suites == "off":
        nothing = Coverage(0, "transaction versions", "the invariant suites were turned off")
        return CheckResult(CHECK, empty_findings(), nothing)
    wide = wide_entry(frames)
    if wide is None:
        chosen = read_suites(SUITES_DIR) if suites is None else tuple(suites)
        register_legs(spark)
        run = run_spark_suites(spark, chosen)
        result = suite_result(run, chosen, f"{where}, Spark SQL ({spark.sparkContext.master})")
    else:
        result = check_invariants(frames, spec, suites)
        result = ran_on_frames(result, wide, "Spark", "the statements")
    return with_not_provable(result, frames)
