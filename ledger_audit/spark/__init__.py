"""Run the checks on Apache Spark (``verify --engine spark``): a stage beside ``checks``.

The same SQLAlchemy statements and the same LACH-1 code as the frames path, executed by
Spark over the canonical tables (Parquet, or JDBC from PostgreSQL). Nothing here is
imported by ``ledger_audit`` or the CLI at start-up: pyspark and its JVM cost seconds.
"""
