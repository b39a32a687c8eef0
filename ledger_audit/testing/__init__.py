"""Outside the data flow: helpers for the test suite and the benchmarks.

Why a package and not test code: the benchmarks need the same throwaway PostgreSQL server as
the tests, and neither should hand-roll it. Nothing in the data flow imports from here.
"""

from ledger_audit.testing.pgserver import (
    DatabaseFactory,
    ExistingPostgres,
    PostgresNotFoundError,
    PostgresServer,
    PostgresServerError,
    find_postgres_bin_dir,
    unique_database_name,
)

__all__ = [
    "DatabaseFactory",
    "ExistingPostgres",
    "PostgresNotFoundError",
    "PostgresServer",
    "PostgresServerError",
    "find_postgres_bin_dir",
    "unique_database_name",
]
