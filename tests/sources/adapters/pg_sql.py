"""Plain SQL on a test database, as someone with database access would edit it."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa


def conninfo(url: str) -> str:
    """A SQLAlchemy URL as libpq connection text (psycopg's)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def execute(url: str, *statements: str) -> None:
    """Run ``statements`` in one transaction."""
    with psycopg.connect(conninfo(url)) as conn:
        for sql in statements:
            conn.execute(sql)
        conn.commit()
