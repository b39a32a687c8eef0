"""Spark SQL text from SQLAlchemy Core statements: PostgreSQL's compiler, Spark's spelling.

Spark SQL rejects ``VARCHAR`` without a length and double-quoted identifiers, and knows no
``COLLATE "C"`` (its default string order is already by bytes, ``UTF8_BINARY``). Everything
else the invariant statements use (CASE, CAST AS NUMERIC/BIGINT, ``||``, ``>>``, ``&``,
window functions, ``NULLS LAST``) parses as PostgreSQL writes it (docs/engines.md).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import (
    PGCompiler,
    PGDialect,
    PGIdentifierPreparer,
    PGTypeCompiler,
)
from sqlalchemy.sql.elements import CollationClause


class _SparkTypes(PGTypeCompiler):
    def visit_VARCHAR(self, type_: sa.types.TypeEngine[Any], **kw: Any) -> str:  # noqa: ANN401, ARG002, N802 - SQLAlchemy's visitor signature
        return "STRING"

    def visit_TEXT(self, type_: sa.types.TypeEngine[Any], **kw: Any) -> str:  # noqa: ANN401, ARG002, N802
        return "STRING"


class _SparkQuoting(PGIdentifierPreparer):
    def __init__(self, dialect: sa.Dialect) -> None:
        super().__init__(dialect, initial_quote="`")


class _SparkCompiler(PGCompiler):
    def visit_collation(self, element: CollationClause, **kw: Any) -> str:  # noqa: ANN401, ARG002
        """Byte order is Spark's default collation; ``C`` has another name there."""
        return "UTF8_BINARY"


class SparkDialect(PGDialect):
    """Compile-only: statements become text that ``SparkSession.sql`` runs."""

    name = "spark"
    statement_compiler = _SparkCompiler
    type_compiler_cls = _SparkTypes
    preparer = _SparkQuoting  # type: ignore[assignment]


def spark_sql(statement: sa.Select[Any] | sa.Select[Any, Any]) -> str:
    """``statement`` as Spark SQL text, literals inlined (Spark takes no bound parameters)."""
    compiled = statement.compile(dialect=SparkDialect(), compile_kwargs={"literal_binds": True})  # type: ignore[no-untyped-call]
    return str(compiled)
