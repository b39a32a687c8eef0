"""Frozen run parameters: what a run was asked to do, recorded in its manifest.

Parameters are plain values (numbers, text, tuples of records), so that two runs with
equal specs are the same run.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from ledger_audit.errors import InputError
from ledger_audit.schema.lach1 import Checkpoint

DAY_NS = 86_400 * 10**9
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DECEMBER = 12


@dataclass(frozen=True, slots=True)
class Period:
    """A reporting period ``[start_ns, end_ns)`` in UTC.

    Attributes:
        label: how reports name it (``2025-01``, ``2025-01-31``).
        start_ns: its first instant.
        end_ns: the first instant after it.
    """

    label: str
    start_ns: int
    end_ns: int

    def __post_init__(self) -> None:
        if self.end_ns <= self.start_ns:
            raise InputError(f"period {self.label!r}", "ends before it starts")

    @classmethod
    def month(cls, label: str) -> Period:
        """``'2025-01'`` -> January 2025; anything else is an :class:`InputError`."""
        match = _MONTH.match(label)
        year, month = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
        if not (year >= 1 and 1 <= month <= _DECEMBER):
            raise InputError(f"period {label!r}", "expected a month as YYYY-MM")
        next_year, next_month = (year + 1, 1) if month == _DECEMBER else (year, month + 1)
        start = calendar.timegm((year, month, 1, 0, 0, 0)) * 10**9
        end = calendar.timegm((next_year, next_month, 1, 0, 0, 0)) * 10**9
        return cls(f"{year:04d}-{month:02d}", start, end)

    @classmethod
    def day(cls, day: date) -> Period:
        """One UTC calendar day."""
        start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) * 10**9
        return cls(day.isoformat(), start, start + DAY_NS)

    @property
    def first_day(self) -> date:
        """The UTC date of the first instant."""
        return datetime.fromtimestamp(self.start_ns // 10**9, tz=UTC).date()

    @property
    def last_day(self) -> date:
        """The UTC date of the last instant."""
        return datetime.fromtimestamp((self.end_ns - 1) // 10**9, tz=UTC).date()


SuiteEngine = Literal["frame", "sql", "off"]
"""Where the great-expectations suites run: on the replayed frames (pandas path), in the
source database (SQL path), or not at all."""

CheckEngine = Literal["frames", "spark"]
"""Where the chain and the invariants run: on the loaded frames, or on Apache Spark."""


@dataclass(frozen=True, slots=True)
class VerifySpec:
    """Parameters of ``ledger-audit verify``.

    Attributes:
        source: the reader input that was verified (URL or folder), as given.
        checkpoints: earlier chain checkpoints the chain must extend.
        duplicate_window_ns: two payments with the same legs closer than this are suspected
            duplicates.
        suites: where the invariant suites run.
        engine: ``spark`` runs the chain and the invariants on Spark (``--engine``).
        spark_master: the Spark master URL when ``engine`` is ``spark``.
    """

    source: str | None = None
    checkpoints: tuple[Checkpoint, ...] = ()
    duplicate_window_ns: int = DAY_NS
    suites: SuiteEngine = "frame"
    engine: CheckEngine = "frames"
    spark_master: str = "local[*]"
