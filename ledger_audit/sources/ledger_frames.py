"""The records a load hands to the rest of the flow: the six canonical frames and the report.

Frames are checked against ``FRAME_SCHEMAS`` when the record is built, so every later stage
can rely on the dtypes without checking again.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.schema.frames import FRAME_SCHEMAS, KEYS, WIDE_AMOUNT
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.shared_text import share_repeated_text

AMOUNT_COLUMNS: dict[str, tuple[str, ...]] = {
    "entries": ("amount",),
    "balances": ("posted_debits", "posted_credits", "pending_debits", "pending_credits"),
}
"""Columns holding minor units: Int64, or all of a frame's together WIDE_AMOUNT (u128 ledgers)."""

REJECTION_SCHEMA: dict[str, pl.DataType] = {
    "source": pl.String(),
    "table": pl.String(),
    "locator": pl.String(),
    "column": pl.String(),
    "reason": pl.String(),
    "raw_value": pl.String(),
}
"""One row per cell that kept its row out of the frames; a row can have several."""


def empty_rejections() -> pl.DataFrame:
    """A rejections frame with no rows, for sources where everything fitted."""
    return pl.DataFrame(schema=REJECTION_SCHEMA)


def empty_frame(table: str) -> pl.DataFrame:
    """A canonical frame with no rows (an empty table is a valid ledger table)."""
    return pl.DataFrame(schema=FRAME_SCHEMAS[table])


def check_frame(table: str, frame: pl.DataFrame) -> None:
    """Raise InputError unless ``frame`` has exactly the canonical columns and dtypes."""
    expected = FRAME_SCHEMAS[table]
    if frame.columns != list(expected):
        raise InputError(
            f"frame {table}",
            f"columns {frame.columns} differ from the canonical {list(expected)}",
        )
    wide_ok = AMOUNT_COLUMNS.get(table, ())
    for name, dtype in frame.schema.items():
        if dtype == expected[name] or (name in wide_ok and dtype == WIDE_AMOUNT):
            continue
        raise InputError(f"frame {table}.{name}", f"dtype {dtype} is not {expected[name]}")


@dataclass(frozen=True, slots=True, eq=False)
class LedgerFrames:
    """One ledger as six polars frames, dtypes as in FRAME_SCHEMAS, rows sorted by KEYS.

    The same ledger read from any source gives frames for which ``equals`` is true.
    """

    ledgers: pl.DataFrame
    assets: pl.DataFrame
    accounts: pl.DataFrame
    transactions: pl.DataFrame
    entries: pl.DataFrame
    balances: pl.DataFrame

    def __post_init__(self) -> None:
        for table, frame in self.items():
            check_frame(table, frame)

    @classmethod
    def from_tables(
        cls, frames: dict[str, pl.DataFrame], *, hand_over: bool = False
    ) -> LedgerFrames:
        """Build from a mapping table name -> frame (all six names required).

        Every reader builds its frames here, so every loaded ledger holds each repeated
        text (ids, metadata) once (``sources.shared_text``); the values are unchanged. With
        ``hand_over`` the frames are taken out of ``frames``, so a column sharing replaces
        is freed as it goes, and not held by the caller until the ledger is built.
        """
        missing = [table for table in CANONICAL_TABLES if table not in frames]
        if missing:
            raise InputError("ledger frames", f"missing frame(s) {', '.join(missing)}")
        tables = {
            table: frames.pop(table) if hand_over else frames[table] for table in CANONICAL_TABLES
        }
        return cls(**share_repeated_text(tables))

    @classmethod
    def empty(cls) -> LedgerFrames:
        """A ledger with no rows in any table."""
        return cls.from_tables({table: empty_frame(table) for table in CANONICAL_TABLES})

    def table(self, name: str) -> pl.DataFrame:
        """The frame of canonical table ``name``."""
        if name not in CANONICAL_TABLES:
            raise InputError(f"table {name}", "not a canonical ledger table")
        frame: pl.DataFrame = getattr(self, name)
        return frame

    def items(self) -> tuple[tuple[str, pl.DataFrame], ...]:
        """(table name, frame) pairs in CANONICAL_TABLES order."""
        return tuple((table, self.table(table)) for table in CANONICAL_TABLES)

    def equals(self, other: LedgerFrames) -> bool:
        """True when every frame has the same dtypes and values (nulls equal nulls)."""
        return all(
            frame.equals(other.table(table), null_equal=True) for table, frame in self.items()
        )

    def is_sorted(self) -> bool:
        """True when every frame is in key order (a loader guarantee; cheap to re-check)."""
        return all(
            frame.equals(frame.sort(list(KEYS[table]), maintain_order=True))
            for table, frame in self.items()
        )


@dataclass(frozen=True, slots=True)
class TableCount:
    """Row counts of one table; ``read == loaded + rejected`` always holds."""

    table: str
    read: int
    loaded: int
    rejected: int

    def __post_init__(self) -> None:
        if self.read != self.loaded + self.rejected:
            raise InputError(
                f"table {self.table}",
                f"read {self.read} != loaded {self.loaded} + rejected {self.rejected}",
            )


@dataclass(frozen=True, slots=True, eq=False)
class LoadReport:
    """What a load read, kept and rejected, so that no row disappears silently.

    Attributes:
        source: the source as given, passwords hidden.
        counts: one TableCount per canonical table, in CANONICAL_TABLES order.
        rejections: REJECTION_SCHEMA frame, one row per offending cell.
        source_counts: a mapped source only: one TableCount per relation of the user's
            source (rows read there, loaded, rejected by the mapping).
        notes: a mapped source only: what the mapping could not give, one sentence each
            (no chain, no stored balances, effective times not mapped...).
        mapping: a mapped source only: the mapping file's path.
    """

    source: str
    counts: tuple[TableCount, ...]
    rejections: pl.DataFrame
    source_counts: tuple[TableCount, ...] = ()
    notes: tuple[str, ...] = ()
    mapping: str | None = None

    def __post_init__(self) -> None:
        if dict(self.rejections.schema) != REJECTION_SCHEMA:
            raise InputError("load report", f"rejections schema {self.rejections.schema}")

    def count(self, table: str) -> TableCount:
        """The counts of one table."""
        for count in self.counts:
            if count.table == table:
                return count
        raise InputError(f"table {table}", "not in this load report")

    @property
    def rejected(self) -> int:
        """Rows rejected over all tables (and, for a mapped source, by the mapping)."""
        return sum(count.rejected for count in (*self.counts, *self.source_counts))

    @property
    def read(self) -> int:
        """Source rows read: the user's relations' rows for a mapped source."""
        counts = self.source_counts or self.counts
        return sum(count.read for count in counts)
