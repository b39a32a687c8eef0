"""A canonical ledger rewritten into foreign layouts, each with the mapping that reads it back.

The mapping tests need ledgers that are *not* in the canonical schema but whose truth is known:
these exporters take canonical ``LedgerFrames`` (a demo, or a ledger the reference writer
produced) and write them with plain drivers (sqlite3, psycopg, polars CSV) into four shapes a
real ledger has, beside the ``mapping.toml`` that describes each (docs/mapping.md, version 1).

Each export also returns the frames a faithful reader must give back. A layout that cannot
carry a part says so in ``Exported.drops`` and the expected frames show that part as the
reader has to rebuild it (a chain-less layout has null chain columns, a layout without an
effective time has ``effective_ns == recorded_ns``, times are floored to what the column
type can hold). Every layout also loses what a mapping has no key for: the ledger's
creation time (the first recorded time stands in), its metadata beyond the closed-through
instant, and assets nothing uses (unless a scale table lists them). Nothing else may differ.

The layouts:

- ``pg_entries``: PostgreSQL, one row per leg with a signed NUMERIC amount in major units
  (``12.34``, debit positive), ``timestamptz`` times (microseconds), versioned journal rows
  with status words ``APPLIED``/``INFLIGHT``/``VOID`` and kind words, stored balances in
  NUMERIC; no chain (``timestamptz`` cannot hold the nanoseconds the chain sealed).
- ``sqlite_transfers``: SQLite, one row per transfer (``debit_account``, ``credit_account``,
  integer cents) grouped by a transaction id, epoch-millisecond times, versioned; no chain,
  no stored balances, no idempotency keys, no effective time.
- ``csv_versioned``: a CSV folder, versioned rows, ISO text times with their Paris offset
  (``+01:00``) and nine fraction digits, a direction column, currency codes with a scale table
  (``currencies.csv``), the LACH-1 chain and stored balances kept, so the chain is verified.
- ``csv_history``: a CSV folder, one row per transaction plus a status-history file, epoch
  nanosecond times, signed credit-positive amounts, no ``[accounts]`` (derived from the
  entries by prefix), no chain, no balances, no idempotency keys.

How a multi-leg transaction becomes transfers: per transaction version and asset, the k-th
debit of an amount is paired with the k-th credit of the same amount (both in entry order),
and the transfers are ordered by the first entry of each pair. That is exact, and only exact,
when every debit finds a credit of the same asset and amount (true of two-leg moves and of
the demo's conversions, debit-credit per asset); otherwise ``NotRepresentableError`` names the
transactions, rather than splitting legs (which would invent entries). Reading back numbers
a transfer's legs debit first, so the expected ``entry_index`` is the pair's rank times two
(plus one for the credit); it equals the original wherever the legs were already in
debit-credit pairs, as in the demo except its reversals (which list the credit first).

A status history cannot carry what changes per version except status and time: the
exporter refuses a ledger whose versions have different entries, and the expected frames
give every version its first version's keys, external id, description and metadata, and
the derived kind (docs/mapping.md, "Shapes").
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import polars as pl
import psycopg
import sqlalchemy as sa

from ledger_audit.schema.frames import FRAME_SCHEMAS, KEYS
from ledger_audit.sources.ledger_frames import LedgerFrames

LAYOUTS: Final = ("pg_entries", "sqlite_transfers", "csv_versioned", "csv_history")
"""Every layout name, in a fixed order (the property test draws from it)."""

CHAIN_COLUMNS: Final = ("chain_seq", "chain_prev_hash", "content_hash", "chain_hash", "meta_hash")
OFFSET_ZONE: Final = "Europe/Paris"
"""Zone of the CSV layout's ISO times: ``+01:00`` in winter, ``+02:00`` in summer."""

STATUS_WORDS: Final = {"posted": "APPLIED", "pending": "INFLIGHT", "archived": "VOID"}
KIND_WORDS: Final = {
    "standard": "TRANSFER",
    "pending": "HOLD",
    "post_pending": "CAPTURE",
    "void_pending": "RELEASE",
    "reversal": "REFUND",
    "adjustment": "CORRECTION",
    "opening": "OPENING",
}
SIDE_WORDS: Final = {"debit": "DR", "credit": "CR"}
ROW_ID_BASE: Final = 1_000_000
"""First row id of a layout: every id has seven digits, so numeric and text order agree
(the order of row ids of different widths is pinned by test_bad_input.py, not by round trips)."""
CSV_STATUS: Final = {"posted": "settled", "pending": "pending", "archived": "void"}


class NotRepresentableError(ValueError):
    """The ledger holds something this layout cannot express exactly (names what)."""


@dataclass(frozen=True, slots=True)
class Exported:
    """A foreign copy of a ledger.

    Attributes:
        layout: one of LAYOUTS.
        source: what ``load_ledger`` and the CLI take (a URL or a folder path).
        mapping: the mapping.toml that reads it back.
        expected: the canonical frames a faithful reader gives for it.
        drops: the optional parts the layout does not carry (docs/mapping.md, "Optional
            parts"): ``chain``, ``balances``, ``idempotency_key``, ``effective_at``,
            ``accounts``, ``kind``; the load must state each in its coverage.
    """

    layout: str
    source: str
    mapping: Path
    expected: LedgerFrames
    drops: frozenset[str]


# --- shared helpers ---------------------------------------------------------------------------


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _toml_map(mapping: dict[str, str]) -> str:
    items = ", ".join(f"{_toml_str(k)} = {_toml_str(v)}" for k, v in sorted(mapping.items()))
    return "{ " + items + " }"


def _sorted(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = FRAME_SCHEMAS[table]
    return frame.select(list(schema)).cast(dict(schema.items())).sort(list(KEYS[table]))


def _with(frames: LedgerFrames, **tables: pl.DataFrame) -> LedgerFrames:
    changed = {name: _sorted(name, frame) for name, frame in tables.items()}
    return LedgerFrames.from_tables({name: changed.get(name, f) for name, f in frames.items()})


def _one_ledger(frames: LedgerFrames) -> str:
    ids = frames.ledgers["ledger_id"].to_list()
    if len(ids) != 1:
        raise NotRepresentableError(f"a mapping reads one ledger; these frames hold {ids}")
    return str(ids[0])


def _floor(column: str, resolution_ns: int) -> pl.Expr:
    return (pl.col(column) // resolution_ns * resolution_ns).alias(column)


def _floor_times(frames: LedgerFrames, resolution_ns: int) -> LedgerFrames:
    """What a column of ``resolution_ns`` keeps of every time (floor, as a cast truncates)."""
    if resolution_ns == 1:
        return frames
    return _with(
        frames,
        transactions=frames.transactions.with_columns(
            _floor("effective_ns", resolution_ns), _floor("recorded_ns", resolution_ns)
        ),
        accounts=frames.accounts.with_columns(
            _floor("opened_ns", resolution_ns), _floor("closed_ns", resolution_ns)
        ),
        balances=frames.balances.with_columns(_floor("as_of_ns", resolution_ns)),
    )


def _without_chain(frames: LedgerFrames) -> LedgerFrames:
    return _with(
        frames,
        ledgers=frames.ledgers.with_columns(chain_algorithm=pl.lit(None, pl.String())),
        transactions=frames.transactions.with_columns(
            [pl.lit(None).alias(c) for c in CHAIN_COLUMNS]
        ),
    )


def _without_balances(frames: LedgerFrames) -> LedgerFrames:
    return _with(frames, balances=frames.balances.clear())


def _without_idempotency(frames: LedgerFrames) -> LedgerFrames:
    return _with(
        frames,
        transactions=frames.transactions.with_columns(idempotency_key=pl.lit(None, pl.String())),
    )


def _effective_is_recorded(frames: LedgerFrames) -> LedgerFrames:
    return _with(
        frames, transactions=frames.transactions.with_columns(effective_ns=pl.col("recorded_ns"))
    )


def derived_kind() -> pl.Expr:
    """The kind docs/mapping.md derives when none is mapped, over one transaction's versions."""
    first = pl.col("version") == pl.col("version").min().over("ledger_id", "transaction_id")
    return (
        pl.when(first & (pl.col("status") == "pending"))
        .then(pl.lit("pending"))
        .when(first & pl.col("reverses_transaction_id").is_not_null())
        .then(pl.lit("reversal"))
        .when(first)
        .then(pl.lit("standard"))
        .when(pl.col("status") == "posted")
        .then(pl.lit("post_pending"))
        .otherwise(pl.lit("void_pending"))
        .alias("kind")
    )


def _scales(frames: LedgerFrames) -> dict[str, int]:
    codes = frames.assets.group_by("code").agg(pl.col("scale").unique())
    clash = codes.filter(pl.col("scale").list.len() > 1)["code"].to_list()
    if clash:
        raise NotRepresentableError(f"currency code(s) {clash} have two scales: no code column")
    return {str(c): int(s[0]) for c, s in codes.iter_rows()}


def _with_asset(frame: pl.DataFrame, frames: LedgerFrames) -> pl.DataFrame:
    """Add ``code`` and ``scale`` columns for the frame's ``asset_id``."""
    return frame.join(frames.assets.select("asset_id", "code", "scale"), on="asset_id", how="left")


def major_text(minor: str, scale: str = "scale") -> pl.Expr:
    """Minor units as exact decimal text in major units (``-1234``, scale 2 -> ``-12.34``)."""
    magnitude = pl.col(minor).abs()
    unit = pl.lit(10, pl.Int64()).pow(pl.col(scale).cast(pl.Int64()))
    whole = (magnitude // unit).cast(pl.String())
    fraction = (magnitude % unit).cast(pl.String()).str.zfill(pl.col(scale).cast(pl.Int64()))
    sign = pl.when(pl.col(minor) < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    text = pl.when(pl.col(scale) == 0).then(whole).otherwise(whole + "." + fraction)
    return pl.when(pl.col(minor).is_null()).then(None).otherwise(sign + text).alias(minor)


def iso_utc(column: str) -> pl.Expr:
    """Epoch ns as ISO 8601 in UTC with microseconds (what ``timestamptz`` takes)."""
    return (
        pl.col(column)
        .cast(pl.Datetime("ns", "UTC"))
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .alias(column)
    )


def iso_offset(column: str) -> pl.Expr:
    """Epoch ns as ISO 8601 local time with its offset and nine fraction digits."""
    return (
        pl.col(column)
        .cast(pl.Datetime("ns", "UTC"))
        .dt.convert_time_zone(OFFSET_ZONE)
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.9f%:z")
        .alias(column)
    )


def _signed(direction_positive: str) -> pl.Expr:
    return (
        pl.when(pl.col("direction") == direction_positive)
        .then(pl.col("amount"))
        .otherwise(-pl.col("amount"))
    )


def _ledger_section(frames: LedgerFrames, *, timezone: str | None = None) -> str:
    ledger = frames.ledgers.row(0, named=True)
    lines = [
        'format = "ledger-audit/mapping/1"',
        "",
        "[ledger]",
        f"id = {_toml_str(str(ledger['ledger_id']))}",
    ]
    if ledger["name"] is not None:
        lines.append(f"name = {_toml_str(str(ledger['name']))}")
    if timezone is not None:
        lines.append(f"timezone = {_toml_str(timezone)}")
    closed = _closed_through_ns(frames)
    if closed is not None:
        seconds, fraction = divmod(closed, 1_000_000_000)
        stamp = datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
        lines.append(f'closed_through = "{stamp}.{fraction:09d}Z"')
    return "\n".join(lines) + "\n"


def _closed_through_ns(frames: LedgerFrames) -> int | None:
    text = frames.ledgers["metadata"][0]
    value = json.loads(text).get("closed_through_ns") if text else None
    return None if value is None else int(value)


def _ledger_as_mapped(frames: LedgerFrames, *, scale_table: bool = False) -> LedgerFrames:
    """The ledger and assets a mapping gives.

    No creation time (the first recorded time stands in), no metadata but the closed-through
    instant, and only the assets something uses, unless a scale table lists them all.
    """
    closed = _closed_through_ns(frames)
    metadata = None if closed is None else json.dumps({"closed_through_ns": closed})
    first = frames.transactions["recorded_ns"].min()
    used = pl.concat(
        [frames.table(name).select("asset_id") for name in ("entries", "accounts", "balances")]
    ).drop_nulls()
    return _with(
        frames,
        assets=frames.assets.filter(
            pl.lit(scale_table) | pl.col("asset_id").is_in(used["asset_id"].implode())
        ),
        ledgers=frames.ledgers.with_columns(
            created_ns=pl.lit(first if first is not None else 0, pl.Int64()),
            metadata=pl.lit(metadata, pl.String()),
        ),
    )


def _asset_kind(frames: LedgerFrames) -> str:
    kinds = frames.assets["kind"].unique().to_list()
    if len(kinds) > 1:
        raise NotRepresentableError(f"assets of several kinds {kinds}: a mapping gives one")
    return f"kind = {_toml_str(str(kinds[0]))}\n" if kinds and kinds[0] is not None else ""


def _scales_section(frames: LedgerFrames) -> str:
    scales = _scales(frames)
    if len(set(scales.values())) == 1:
        return f"\n[assets]\nscale = {next(iter(scales.values()))}\n{_asset_kind(frames)}"
    items = ", ".join(f"{code} = {scale}" for code, scale in sorted(scales.items()))
    return f"\n[assets]\nscales = {{ {items} }}\n{_asset_kind(frames)}"


# --- transfer pairing -------------------------------------------------------------------------

_VERSION_KEY = ["ledger_id", "transaction_id", "version"]


def transfer_pairs(entries: pl.DataFrame) -> pl.DataFrame:
    """Pair each debit with a credit of the same version, asset and amount (see module doc).

    Returns one row per transfer: the version key, ``pair`` (0, 1, ... in order of the pair's
    first entry), ``debit_account``, ``credit_account``, ``asset_id``, ``amount``. Raises
    NotRepresentableError naming the transactions whose legs do not pair up.
    """
    key = [*_VERSION_KEY, "asset_id", "amount"]
    ranked = entries.with_columns(
        rank=pl.col("entry_index").rank("ordinal").over([*key, "direction"])
    )
    debits = ranked.filter(pl.col("direction") == "debit").select(
        *key, "rank", debit_account="account_id", debit_index="entry_index"
    )
    credit_legs = ranked.filter(pl.col("direction") == "credit").select(
        *key, "rank", credit_account="account_id", credit_index="entry_index"
    )
    pairs = debits.join(credit_legs, on=[*key, "rank"], how="full", coalesce=True)
    unpaired = pairs.filter(pl.col("debit_account").is_null() | pl.col("credit_account").is_null())
    if unpaired.height:
        ids = sorted(set(unpaired["transaction_id"].to_list()))
        raise NotRepresentableError(
            f"{len(ids)} transaction version(s) have legs that do not pair into transfers "
            f"of one asset and amount, e.g. {ids[:3]}"
        )
    return (
        pairs.with_columns(first=pl.min_horizontal("debit_index", "credit_index"))
        .sort([*_VERSION_KEY, "first"])
        .with_columns(pair=pl.int_range(pl.len()).over(_VERSION_KEY).cast(pl.Int32()))
        .select(*_VERSION_KEY, "pair", "debit_account", "credit_account", "asset_id", "amount")
    )


def entries_from_pairs(pairs: pl.DataFrame) -> pl.DataFrame:
    """The entries a reader builds from transfers: legs numbered debit first, pair by pair."""
    legs = [
        pairs.select(
            *_VERSION_KEY,
            entry_index=pl.col("pair") * 2 + offset,
            account_id=pl.col(f"{side}_account"),
            asset_id="asset_id",
            direction=pl.lit(side),
            amount="amount",
        )
        for offset, side in ((0, "debit"), (1, "credit"))
    ]
    return _sorted("entries", pl.concat(legs))


# --- (a) PostgreSQL, entry per row, signed NUMERIC, timestamptz --------------------------------

_PG_DDL = """
CREATE TABLE gl_accounts (
    code text PRIMARY KEY, title text, side text NOT NULL, currency text,
    overdraft_allowed boolean NOT NULL, opened_at timestamptz, closed_at timestamptz,
    owner_ref text, attrs text);
CREATE TABLE journal (
    journal_id text NOT NULL, rev integer NOT NULL, state text NOT NULL, category text NOT NULL,
    hold_of text, reverses text, booked_at timestamptz NOT NULL, created_at timestamptz NOT NULL,
    request_key text, reference text, memo text, meta text,
    PRIMARY KEY (journal_id, rev));
CREATE TABLE journal_lines (
    line_id bigint PRIMARY KEY, journal_id text NOT NULL, rev integer NOT NULL,
    line_no integer NOT NULL, account_code text NOT NULL, currency text NOT NULL,
    amount numeric NOT NULL);
CREATE TABLE account_balances (
    account_code text NOT NULL, currency text NOT NULL, debits numeric NOT NULL,
    credits numeric NOT NULL, held_debits numeric NOT NULL, held_credits numeric NOT NULL,
    updated_at timestamptz NOT NULL, row_version bigint NOT NULL,
    PRIMARY KEY (account_code, currency));
"""


def _pg_tables(frames: LedgerFrames) -> dict[str, pl.DataFrame]:
    accounts = frames.accounts.join(
        frames.assets.select("asset_id", "code"), on="asset_id", how="left"
    ).select(
        code="account_id",
        title="name",
        side=pl.col("normal_balance").replace_strict(SIDE_WORDS),
        currency=pl.col("code"),
        overdraft_allowed="allow_negative",
        opened_at=iso_utc("opened_ns"),
        closed_at=iso_utc("closed_ns"),
        owner_ref="external_id",
        attrs="metadata",
    )
    journal = frames.transactions.select(
        journal_id="transaction_id",
        rev="version",
        state=pl.col("status").replace_strict(STATUS_WORDS),
        category=pl.col("kind").replace_strict(KIND_WORDS),
        hold_of="pending_transaction_id",
        reverses="reverses_transaction_id",
        booked_at=iso_utc("effective_ns"),
        created_at=iso_utc("recorded_ns"),
        request_key="idempotency_key",
        reference="external_id",
        memo="description",
        meta="metadata",
    )
    lines = (
        _with_asset(frames.entries, frames)
        .with_columns(signed=_signed("debit"))
        .select(
            line_id=pl.int_range(pl.len()) + ROW_ID_BASE,
            journal_id="transaction_id",
            rev="version",
            line_no="entry_index",
            account_code="account_id",
            currency="code",
            amount=major_text("signed"),
        )
    )
    balances = _with_asset(frames.balances, frames).select(
        account_code="account_id",
        currency="code",
        debits=major_text("posted_debits"),
        credits=major_text("posted_credits"),
        held_debits=major_text("pending_debits"),
        held_credits=major_text("pending_credits"),
        updated_at=iso_utc("as_of_ns"),
        row_version="lock_version",
    )
    return {
        "gl_accounts": accounts,
        "journal": journal,
        "journal_lines": lines,
        "account_balances": balances,
    }


def _pg_mapping(frames: LedgerFrames) -> str:
    return (
        _ledger_section(frames)
        + _scales_section(frames)
        + f"""
[accounts]
from = "gl_accounts"
id = "code"
name = "title"
normal_balance = {{ column = "side", map = {_toml_map({v: k for k, v in SIDE_WORDS.items()})} }}
currency = "currency"
allow_negative = {{ column = "overdraft_allowed" }}
opened_at = "opened_at"
closed_at = "closed_at"
external_id = "owner_ref"
metadata = "attrs"

[transactions]
from = "journal"
shape = "versioned"
id = "journal_id"
version = "rev"
status = {{ column = "state", map = {_toml_map({v: k for k, v in STATUS_WORDS.items()})} }}
kind = {{ column = "category", map = {_toml_map({v: k for k, v in KIND_WORDS.items()})} }}
pending_id = "hold_of"
reverses_id = "reverses"
recorded_at = "created_at"
effective_at = "booked_at"
idempotency_key = "request_key"
external_id = "reference"
description = "memo"
metadata = "meta"

[entries]
from = "journal_lines"
shape = "entry"
row_id = "line_id"
transaction_id = "journal_id"
version = "rev"
index = "line_no"
account = "account_code"
amount = {{ column = "amount", units = "major", sign = "debit_positive" }}
currency = "currency"

[balances]
from = "account_balances"
account = "account_code"
currency = "currency"
posted_debits = {{ column = "debits", units = "major" }}
posted_credits = {{ column = "credits", units = "major" }}
pending_debits = {{ column = "held_debits", units = "major" }}
pending_credits = {{ column = "held_credits", units = "major" }}
as_of = "updated_at"
lock_version = "row_version"
"""
    )


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as psycopg takes it."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def write_postgres(url: str, ddl: str, tables: dict[str, pl.DataFrame]) -> None:
    """Create the tables and COPY the rows in (text values; PostgreSQL parses them)."""
    with psycopg.connect(libpq_url(url)) as conn, conn.cursor() as cur:
        cur.execute(ddl.encode())
        for name, frame in tables.items():
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            text = frame.select(pl.all().cast(pl.String()))
            with cur.copy(f'COPY "{name}" ({columns}) FROM STDIN'.encode()) as copy:
                for row in text.iter_rows():
                    copy.write_row(row)


def export_pg_entries(frames: LedgerFrames, url: str, folder: Path) -> Exported:
    """Layout (a): write ``frames`` into the empty PostgreSQL database at ``url``."""
    _one_ledger(frames)
    write_postgres(url, _PG_DDL, _pg_tables(frames))
    folder.mkdir(parents=True, exist_ok=True)
    mapping = folder / "mapping.toml"
    mapping.write_text(_pg_mapping(frames), encoding="utf-8")
    expected = _ledger_as_mapped(_without_chain(_floor_times(frames, 1_000)))
    return Exported("pg_entries", url, mapping, expected, frozenset({"chain"}))


# --- (b) SQLite, transfer per row, integer cents, epoch ms --------------------------------------

_SQLITE_DDL = """
CREATE TABLE book_accounts (
    acct TEXT PRIMARY KEY, label TEXT, normal TEXT NOT NULL, currency TEXT,
    allow_overdraft INTEGER NOT NULL, opened_ms INTEGER, closed_ms INTEGER, owner TEXT,
    attrs TEXT);
CREATE TABLE txns (
    txn TEXT NOT NULL, rev INTEGER NOT NULL, status TEXT NOT NULL, kind TEXT NOT NULL,
    hold_of TEXT, reverses TEXT, created_ms INTEGER NOT NULL, ref TEXT, memo TEXT, meta TEXT,
    PRIMARY KEY (txn, rev));
CREATE TABLE transfers (
    id INTEGER PRIMARY KEY, txn TEXT NOT NULL, rev INTEGER NOT NULL,
    debit_account TEXT NOT NULL, credit_account TEXT NOT NULL, amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL);
"""


def _epoch_ms(column: str) -> pl.Expr:
    return (pl.col(column) // 1_000_000).alias(column)


def write_sqlite(path: Path, ddl: str, tables: dict[str, pl.DataFrame]) -> None:
    """Create the file with ``ddl`` and insert every row (plain sqlite3, one transaction)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(path)) as conn:
        conn.executescript(ddl)
        for name, frame in tables.items():
            marks = ", ".join("?" for _ in frame.columns)
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            conn.executemany(f'INSERT INTO "{name}" ({columns}) VALUES ({marks})', frame.rows())
        conn.commit()


def _sqlite_tables(frames: LedgerFrames, pairs: pl.DataFrame) -> dict[str, pl.DataFrame]:
    accounts = frames.accounts.join(
        frames.assets.select("asset_id", "code"), on="asset_id", how="left"
    ).select(
        acct="account_id",
        label="name",
        normal=pl.col("normal_balance").replace_strict({"debit": "dr", "credit": "cr"}),
        currency="code",
        allow_overdraft=pl.col("allow_negative").cast(pl.Int64()),
        opened_ms=_epoch_ms("opened_ns"),
        closed_ms=_epoch_ms("closed_ns"),
        owner="external_id",
        attrs="metadata",
    )
    txns = frames.transactions.select(
        txn="transaction_id",
        rev="version",
        status=pl.col("status").replace_strict(CSV_STATUS),
        kind="kind",
        hold_of="pending_transaction_id",
        reverses="reverses_transaction_id",
        created_ms=_epoch_ms("recorded_ns"),
        ref="external_id",
        memo="description",
        meta="metadata",
    )
    transfers = (
        _with_asset(pairs, frames)
        .sort([*_VERSION_KEY, "pair"])
        .select(
            id=pl.int_range(pl.len()) + ROW_ID_BASE,
            txn="transaction_id",
            rev="version",
            debit_account="debit_account",
            credit_account="credit_account",
            amount_cents="amount",
            currency="code",
        )
    )
    return {"book_accounts": accounts, "txns": txns, "transfers": transfers}


def _sqlite_mapping(frames: LedgerFrames) -> str:
    return (
        _ledger_section(frames)
        + _scales_section(frames)
        + f"""
[accounts]
from = "book_accounts"
id = "acct"
name = "label"
normal_balance = {{ column = "normal", map = {{ dr = "debit", cr = "credit" }} }}
currency = "currency"
allow_negative = {{ column = "allow_overdraft" }}
opened_at = {{ column = "opened_ms", epoch = "ms" }}
closed_at = {{ column = "closed_ms", epoch = "ms" }}
external_id = "owner"
metadata = "attrs"

[transactions]
from = "txns"
shape = "versioned"
id = "txn"
version = "rev"
status = {{ column = "status", map = {_toml_map({v: k for k, v in CSV_STATUS.items()})} }}
kind = "kind"
pending_id = "hold_of"
reverses_id = "reverses"
recorded_at = {{ column = "created_ms", epoch = "ms" }}
external_id = "ref"
description = "memo"
metadata = "meta"

[entries]
from = "transfers"
shape = "transfer"
row_id = "id"
transaction_id = "txn"
version = "rev"
debit_account = "debit_account"
credit_account = "credit_account"
amount = "amount_cents"
currency = "currency"
"""
    )


def export_sqlite_transfers(frames: LedgerFrames, path: Path) -> Exported:
    """Layout (b): write ``frames`` to a new SQLite file ``path`` (mapping beside it)."""
    _one_ledger(frames)
    pairs = transfer_pairs(frames.entries)
    write_sqlite(path, _SQLITE_DDL, _sqlite_tables(frames, pairs))
    mapping = path.with_suffix(".mapping.toml")
    mapping.write_text(_sqlite_mapping(frames), encoding="utf-8")
    expected = _floor_times(frames, 1_000_000)
    expected = _effective_is_recorded(
        _without_idempotency(_without_balances(_without_chain(expected)))
    )
    expected = _ledger_as_mapped(_with(expected, entries=entries_from_pairs(pairs)))
    drops = frozenset({"chain", "balances", "idempotency_key", "effective_at"})
    return Exported("sqlite_transfers", str(path), mapping, expected, drops)


# --- (c) CSV folder, versioned rows, ISO times with offsets, scale table ------------------------


def _csv_tables(frames: LedgerFrames) -> dict[str, pl.DataFrame]:
    currencies = frames.assets.select(code="code", minor_units="scale").unique().sort("code")
    accounts = frames.accounts.join(
        frames.assets.select("asset_id", "code"), on="asset_id", how="left"
    ).select(
        account="account_id",
        name="name",
        type=pl.col("normal_balance").replace_strict({"debit": "asset", "credit": "liability"}),
        currency="code",
        negative_ok=pl.col("allow_negative").cast(pl.String()),
        opened=iso_offset("opened_ns"),
        closed=iso_offset("closed_ns"),
        customer="external_id",
        meta="metadata",
    )
    txn = frames.transactions.select(
        id="transaction_id",
        version="version",
        status=pl.col("status").replace_strict(CSV_STATUS),
        type="kind",
        hold="pending_transaction_id",
        reverses="reverses_transaction_id",
        created=iso_offset("recorded_ns"),
        effective=iso_offset("effective_ns"),
        idem="idempotency_key",
        ref="external_id",
        memo="description",
        meta="metadata",
        seq="chain_seq",
        prev="chain_prev_hash",
        content="content_hash",
        hash="chain_hash",
        meta_hash="meta_hash",
    )
    lines = _with_asset(frames.entries, frames).select(
        tx="transaction_id",
        version="version",
        leg="entry_index",
        account="account_id",
        side=pl.col("direction").replace_strict(SIDE_WORDS),
        amount_minor="amount",
        ccy="code",
    )
    balances = _with_asset(frames.balances, frames).select(
        account="account_id",
        ccy="code",
        dr="posted_debits",
        cr="posted_credits",
        hold_dr="pending_debits",
        hold_cr="pending_credits",
        at=iso_offset("as_of_ns"),
        lock="lock_version",
    )
    return {
        "currencies": currencies,
        "accounts": accounts,
        "ledger_txn": txn,
        "ledger_lines": lines,
        "balances": balances,
    }


def _csv_mapping(frames: LedgerFrames) -> str:
    return (
        _ledger_section(frames)
        + f"""
[assets]
from = "currencies.csv"
code = "code"
scale = "minor_units"
{_asset_kind(frames)}
[accounts]
from = "accounts.csv"
id = "account"
name = "name"
normal_balance = {{ column = "type", map = {{ asset = "debit", liability = "credit" }} }}
currency = "currency"
allow_negative = {{ column = "negative_ok" }}
opened_at = "opened"
closed_at = "closed"
external_id = "customer"
metadata = "meta"

[transactions]
from = "ledger_txn.csv"
shape = "versioned"
id = "id"
version = "version"
status = {{ column = "status", map = {_toml_map({v: k for k, v in CSV_STATUS.items()})} }}
kind = "type"
pending_id = "hold"
reverses_id = "reverses"
recorded_at = "created"
effective_at = "effective"
idempotency_key = "idem"
external_id = "ref"
description = "memo"
metadata = "meta"

[entries]
from = "ledger_lines.csv"
shape = "entry"
transaction_id = "tx"
version = "version"
index = "leg"
account = "account"
direction = {{ column = "side", map = {_toml_map({v: k for k, v in SIDE_WORDS.items()})} }}
amount = "amount_minor"
currency = "ccy"

[balances]
from = "balances.csv"
account = "account"
currency = "ccy"
posted_debits = "dr"
posted_credits = "cr"
pending_debits = "hold_dr"
pending_credits = "hold_cr"
as_of = "at"
lock_version = "lock"

[chain]
algorithm = "lach/1"
seq = "seq"
prev_hash = "prev"
content_hash = "content"
hash = "hash"
meta_hash = "meta_hash"
"""
    )


def write_csv_folder(folder: Path, tables: dict[str, pl.DataFrame]) -> None:
    """One ``<name>.csv`` per table (polars CSV: nulls as empty fields)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_csv(folder / f"{name}.csv")


def export_csv_versioned(frames: LedgerFrames, folder: Path) -> Exported:
    """Layout (c): write ``frames`` as CSV files in ``folder`` (mapping.toml beside them)."""
    _one_ledger(frames)
    write_csv_folder(folder, _csv_tables(frames))
    mapping = folder.parent / f"{folder.name}.mapping.toml"
    mapping.write_text(_csv_mapping(frames), encoding="utf-8")
    expected = _ledger_as_mapped(frames, scale_table=True)
    return Exported("csv_versioned", str(folder), mapping, expected, frozenset())


# --- (d) CSV folder, status history, epoch ns, signed credit-positive, derived accounts --------


def _history_check(frames: LedgerFrames) -> None:
    """Refuse a ledger whose versions differ in more than status and time (module doc)."""
    legs = frames.entries.group_by("ledger_id", "transaction_id", "version").agg(
        pl.struct("entry_index", "account_id", "asset_id", "direction", "amount")
        .sort_by("entry_index")
        .alias("legs")
    )
    differing = (
        legs.group_by("ledger_id", "transaction_id")
        .agg(pl.col("legs").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
    )
    if differing.height:
        ids = sorted(differing["transaction_id"].to_list())
        raise NotRepresentableError(
            f"{len(ids)} transaction(s) change their entries between versions (e.g. {ids[:3]}): "
            "a status history gives every version the same entries"
        )
    versions = frames.transactions.group_by("ledger_id", "transaction_id").agg(
        pl.col("version").sort().alias("v")
    )
    gaps = versions.filter(pl.col("v") != pl.int_ranges(0, pl.col("v").list.len()))
    if gaps.height:
        raise NotRepresentableError("a status history numbers versions 0, 1, ... without gaps")


def _prefix_normal(frames: LedgerFrames) -> tuple[dict[str, str], str]:
    """Prefixes reproducing every account's normal balance: first segments, then exceptions."""
    accounts = frames.accounts.with_columns(first=pl.col("account_id").str.split(":").list.first())
    by_first = accounts.group_by("first").agg(
        pl.col("normal_balance").mode().sort().first().alias("side")
    )
    prefixes = {str(f): str(s) for f, s in by_first.iter_rows()}
    exceptions = accounts.join(by_first, on="first").filter(
        pl.col("normal_balance") != pl.col("side")
    )
    pairs = exceptions.select("account_id", "normal_balance").rows()
    prefixes |= {str(account): str(side) for account, side in pairs}
    return prefixes, "debit"


def _history_tables(frames: LedgerFrames) -> dict[str, pl.DataFrame]:
    first = frames.transactions.filter(pl.col("version") == 0)
    transactions = first.select(
        id="transaction_id",
        hold="pending_transaction_id",
        reverses="reverses_transaction_id",
        created_ns="recorded_ns",
        effective_ns="effective_ns",
        ref="external_id",
        memo="description",
        meta="metadata",
    )
    history = frames.transactions.select(
        transaction_id="transaction_id",
        status=pl.col("status").replace_strict(STATUS_WORDS),
        at_ns="recorded_ns",
        step="version",
    )
    legs = (
        _with_asset(frames.entries.filter(pl.col("version") == 0), frames)
        .with_columns(signed=_signed("credit"))
        .select(
            line=pl.format("L{}", (pl.int_range(pl.len()) + ROW_ID_BASE).cast(pl.String())),
            tx="transaction_id",
            account="account_id",
            minor="signed",
            ccy="code",
        )
    )
    return {"transactions": transactions, "status_history": history, "legs": legs}


def _history_mapping(frames: LedgerFrames) -> str:
    prefixes, default = _prefix_normal(frames)
    return (
        _ledger_section(frames)
        + _scales_section(frames).rstrip("\n")
        + f"""

[accounts]
derive = true
normal_balance = {{ prefixes = {_toml_map(prefixes)}, default = {_toml_str(default)} }}

[transactions]
from = "transactions.csv"
shape = "history"
id = "id"
pending_id = "hold"
reverses_id = "reverses"
recorded_at = {{ column = "created_ns", epoch = "ns" }}
effective_at = {{ column = "effective_ns", epoch = "ns" }}
external_id = "ref"
description = "memo"
metadata = "meta"

[transactions.history]
from = "status_history.csv"
transaction_id = "transaction_id"
status = {{ column = "status", map = {_toml_map({v: k for k, v in STATUS_WORDS.items()})} }}
at = {{ column = "at_ns", epoch = "ns" }}
order = "step"

[entries]
from = "legs.csv"
shape = "entry"
row_id = "line"
transaction_id = "tx"
account = "account"
amount = {{ column = "minor", sign = "credit_positive" }}
currency = "ccy"
"""
    )


def _history_expected(frames: LedgerFrames) -> LedgerFrames:
    """What a status history gives back: see the module doc."""
    constant = [
        "external_id",
        "description",
        "metadata",
        "pending_transaction_id",
        "reverses_transaction_id",
    ]
    first = frames.transactions.filter(pl.col("version") == 0).select(
        "ledger_id", "transaction_id", *constant, first_effective="effective_ns"
    )
    transactions = (
        frames.transactions.drop(constant)
        .join(first, on=["ledger_id", "transaction_id"])
        .with_columns(
            effective_ns=pl.when(pl.col("version") == 0)
            .then(pl.col("first_effective"))
            .otherwise(pl.col("recorded_ns")),
        )
        .with_columns(derived_kind(), idempotency_key=pl.lit(None, pl.String()))
    )
    first_recorded = frames.transactions["recorded_ns"].min()
    used = frames.entries.select("ledger_id", "account_id").unique()
    accounts = frames.accounts.join(used, on=["ledger_id", "account_id"]).select(
        "ledger_id",
        "account_id",
        "normal_balance",
        name="account_id",
        asset_id=pl.lit(None, pl.String()),
        allow_negative=pl.lit(value=True),
        opened_ns=pl.lit(first_recorded, pl.Int64()),
    )
    expected = _with(
        frames,
        transactions=transactions,
        accounts=accounts.with_columns(
            closed_ns=pl.lit(None, pl.Int64()),
            external_id=pl.lit(None, pl.String()),
            metadata=pl.lit(None, pl.String()),
        ),
    )
    return _without_balances(_without_chain(expected))


def export_csv_history(frames: LedgerFrames, folder: Path) -> Exported:
    """Layout (d): one row per transaction and a status history, as CSV files in ``folder``."""
    _one_ledger(frames)
    _history_check(frames)
    write_csv_folder(folder, _history_tables(frames))
    mapping = folder.parent / f"{folder.name}.mapping.toml"
    mapping.write_text(_history_mapping(frames), encoding="utf-8")
    drops = frozenset({"chain", "balances", "idempotency_key", "accounts", "kind"})
    expected = _ledger_as_mapped(_history_expected(frames))
    return Exported("csv_history", str(folder), mapping, expected, drops)


Exporter = Callable[[LedgerFrames, Path], Exported]


def file_exporters() -> dict[str, Exporter]:
    """The layouts that need no server, by name."""
    return {
        "sqlite_transfers": lambda frames, out: export_sqlite_transfers(
            frames, out / "ledger.sqlite"
        ),
        "csv_versioned": lambda frames, out: export_csv_versioned(frames, out / "csv"),
        "csv_history": lambda frames, out: export_csv_history(frames, out / "history"),
    }


def differing_tables(actual: LedgerFrames, expected: LedgerFrames) -> Sequence[str]:
    """Names of the tables whose frames differ (for a readable assertion message)."""
    return [
        name
        for name, frame in expected.items()
        if not frame.equals(actual.table(name), null_equal=True)
    ]


__all__ = [
    "LAYOUTS",
    "Exported",
    "NotRepresentableError",
    "differing_tables",
    "export_csv_history",
    "export_csv_versioned",
    "export_pg_entries",
    "export_sqlite_transfers",
    "file_exporters",
    "with_fixed_entries",
]


def with_fixed_entries(frames: LedgerFrames) -> LedgerFrames:
    """The ledger without the transactions whose versions change their entries.

    A status history cannot carry those (module doc); the rest of a demo can.
    """
    legs = frames.entries.group_by("ledger_id", "transaction_id", "version").agg(
        pl.struct("entry_index", "account_id", "asset_id", "direction", "amount")
        .sort_by("entry_index")
        .alias("legs")
    )
    changing = (
        legs.group_by("ledger_id", "transaction_id")
        .agg(pl.col("legs").n_unique().alias("n"))
        .filter(pl.col("n") > 1)
        .select("ledger_id", "transaction_id")
    )
    key = ["ledger_id", "transaction_id"]
    return _with(
        frames,
        transactions=frames.transactions.join(changing, on=key, how="anti"),
        entries=frames.entries.join(changing, on=key, how="anti"),
    )
