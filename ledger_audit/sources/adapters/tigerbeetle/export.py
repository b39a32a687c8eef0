"""The export folder: ``accounts`` and ``transfers`` as JSON lines or CSV, and ``ledgers.toml``.

TigerBeetle stores no asset: a ``ledger`` is a u32 the application gives a meaning to, so the
folder must say which asset each ledger number is (``[ledgers] 1 = "USD/2"``). It stores no
normal balance either: an account flag says it when the account has a balance limit,
otherwise ``[codes]`` (account ``code`` -> ``debit`` or ``credit``) may. The TigerBeetle
version that wrote the export decides what a post of amount 0 meant (the full pending amount
before 0.16). Every value is read as text (u128 does not fit any polars integer that every
reader handles), with the file's line number beside it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from ledger_audit.errors import InputError, excerpt
from ledger_audit.sources.toml_file import parse_toml, read_text

NAME = "tigerbeetle"
CONFIG_FILE = "ledgers.toml"
LINE = "__line"
"""Column holding each record's 1-based line in its file (CSV: the header is line 1)."""

ACCOUNT_COLUMNS = (
    "id",
    "debits_pending",
    "debits_posted",
    "credits_pending",
    "credits_posted",
    "ledger",
    "code",
    "flags",
    "timestamp",
)
TRANSFER_COLUMNS = (
    "id",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "pending_id",
    "timeout",
    "ledger",
    "code",
    "flags",
    "timestamp",
)
USER_DATA = ("user_data_128", "user_data_64", "user_data_32")
"""Optional on both objects; carried into metadata when present."""

TABLES: dict[str, tuple[str, ...]] = {"accounts": ACCOUNT_COLUMNS, "transfers": TRANSFER_COLUMNS}

Format = Literal["jsonl", "csv"]
SUFFIXES: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}

_ASSET = re.compile(r"^[A-Za-z0-9_.:-]{1,32}/(?:[0-9]|[12][0-9]|3[0-8])$")
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_NORMAL = ("debit", "credit")


def _where(folder: Path) -> str:
    return f"--adapter {NAME}: {folder}"


@dataclass(frozen=True, slots=True)
class ExportConfig:
    """What ``ledgers.toml`` says about the export.

    Attributes:
        ledgers: ledger number (decimal text) -> asset id (``USD/2``); required, non-empty.
        codes: account code (decimal text) -> ``debit``/``credit``, for accounts whose flags
            set no balance limit.
        version: the TigerBeetle version that wrote the export (``0.16.59``).
        version_known: False when ``ledgers.toml`` did not say (0.16 semantics are assumed).
        cluster: the cluster id, the canonical ``ledger_id``.
        end_ns: the instant the export ends (stored balances are as of it; pending transfers
            whose expiry is at or before it expired); None: the latest timestamp read.
    """

    ledgers: tuple[tuple[str, str], ...]
    codes: tuple[tuple[str, str], ...]
    version: str
    version_known: bool
    cluster: str
    end_ns: int | None

    @property
    def before_016(self) -> bool:
        """True for an export written before 0.16, where a post of amount 0 posted it all."""
        match = _VERSION.match(self.version)
        return match is not None and (int(match[1]), int(match[2])) < (0, 16)


@dataclass(frozen=True, slots=True)
class ExportFiles:
    """The files of one export folder."""

    folder: Path
    accounts: Path
    transfers: Path
    config: Path

    def path(self, table: str) -> Path:
        """The file of vendor table ``table`` (``accounts`` or ``transfers``)."""
        return self.accounts if table == "accounts" else self.transfers


def find_files(source: str | Path) -> ExportFiles:
    """Locate the export's files; a missing folder, file or config is an InputError."""
    folder = Path(source)
    if not folder.is_dir():
        raise InputError(
            _where(folder),
            "not a folder (expected an export folder holding "
            f"accounts and transfers as .jsonl or .csv, and {CONFIG_FILE})",
        )
    found: dict[str, Path] = {}
    for table, columns in TABLES.items():
        candidates = sorted(folder / f"{table}{suffix}" for suffix in SUFFIXES)
        present = [path for path in candidates if path.is_file()]
        if not present:
            names = ", ".join(path.name for path in candidates)
            raise InputError(
                _where(folder),
                f"table {table!r} is missing (expected one of {names}, holding the "
                f"columns {', '.join(columns)})",
            )
        if len(present) > 1:
            raise InputError(
                _where(folder),
                f"table {table!r} is given twice ({', '.join(p.name for p in present)}): keep one",
            )
        found[table] = present[0]
    config = folder / CONFIG_FILE
    if not config.is_file():
        raise InputError(
            _where(folder),
            f"{CONFIG_FILE} is missing: TigerBeetle stores no asset, so the export must map "
            'each ledger number to one (e.g. [ledgers] 1 = "USD/2")',
        )
    return ExportFiles(folder, found["accounts"], found["transfers"], config)


def _table_of(document: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise InputError(where, f"[{name}] must be a table")
    return value


def _decimal_key(key: str, where: str, what: str) -> str:
    if not key.isdigit():
        raise InputError(where, f"{what} {key!r} is not a decimal number")
    return str(int(key))


def read_config(path: Path) -> ExportConfig:
    """Parse ``ledgers.toml`` (errors name the file and the key)."""
    where = str(path)
    document = parse_toml(read_text(path, "TigerBeetle ledger map"), where)
    ledgers = _table_of(document, "ledgers", where)
    if not ledgers:
        raise InputError(
            where, '[ledgers] is empty: map each ledger number to an asset, e.g. 1 = "USD/2"'
        )
    pairs: list[tuple[str, str]] = []
    for key, value in ledgers.items():
        number = _decimal_key(key, where, "[ledgers] key")
        if not isinstance(value, str) or not _ASSET.match(value):
            raise InputError(
                where,
                f"[ledgers] {key} = {excerpt(repr(value))}: expected an asset id CODE/scale "
                "with a scale 0..38 (USD/2)",
            )
        pairs.append((number, value))
    codes: list[tuple[str, str]] = []
    for key, value in _table_of(document, "codes", where).items():
        number = _decimal_key(key, where, "[codes] key")
        if value not in _NORMAL:
            raise InputError(
                where, f'[codes] {key} = {excerpt(repr(value))}: expected "debit" or "credit"'
            )
        codes.append((number, str(value)))
    source = _table_of(document, "source", where)
    version = source.get("version")
    if version is not None and (not isinstance(version, str) or not _VERSION.match(version)):
        raise InputError(
            where,
            f'[source] version = {excerpt(repr(version))}: expected a release such as "0.16.59"',
        )
    cluster = source.get("cluster", "0")
    if not isinstance(cluster, str) or not cluster.isdigit():
        raise InputError(
            where,
            f"[source] cluster = {excerpt(repr(cluster))}: expected the "
            'cluster id as a decimal string ("0")',
        )
    end = source.get("end_ns")
    if end is not None and (not isinstance(end, str) or not end.isdigit()):
        raise InputError(
            where,
            f"[source] end_ns = {excerpt(repr(end))}: expected epoch "
            "nanoseconds as a decimal string",
        )
    return ExportConfig(
        ledgers=tuple(sorted(pairs, key=lambda p: int(p[0]))),
        codes=tuple(sorted(codes, key=lambda p: int(p[0]))),
        version=version or "0.16",
        version_known=version is not None,
        cluster=str(int(cluster)),
        end_ns=None if end is None else int(end),
    )


def _first_bad_json_line(path: Path) -> tuple[int, str, str] | None:
    """Only on the error path: the first line that is not one JSON object (line, text, why)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                return number, line, exc.msg
            if not isinstance(value, dict):
                return number, line, "not a JSON object"
    return None


def _read_jsonl(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    wanted = (*columns, *USER_DATA)
    try:
        frame = pl.read_ndjson(path, schema=dict.fromkeys(wanted, pl.String()))
    except (pl.exceptions.PolarsError, OSError, UnicodeDecodeError) as exc:
        bad = _first_bad_json_line(path)
        if bad is None:
            raise InputError(_where(path), f"cannot read the JSON lines: {exc}") from exc
        number, line, why = bad
        raise InputError(
            f"--adapter {NAME}: {path}:{number}",
            f"malformed JSON line ({why}; expected one JSON object per line): "
            f"{excerpt(line.rstrip())}",
        ) from exc
    return frame.with_columns(pl.Series(LINE, _record_lines(path, frame.height), dtype=pl.Int64))


def _record_lines(path: Path, records: int) -> list[int] | range:
    """The line of each record; blank lines hold none.

    When the file has as many lines as records (the usual case, counted in C), record i is
    on line i; only a file with blank lines is walked line by line.
    """
    data = path.read_bytes()
    lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    if lines == records:
        numbers: list[int] | range = range(1, records + 1)
    else:
        numbers = [n for n, raw in enumerate(data.splitlines(), start=1) if raw.strip()]
    if len(numbers) != records:
        raise InputError(_where(path), f"read {records} records from {len(numbers)} lines")
    return numbers


def _read_csv(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    try:
        frame = pl.read_csv(path, infer_schema=False)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise InputError(_where(path), f"cannot read the CSV: {exc}") from exc
    for name in (*columns, *USER_DATA):
        if name not in frame.columns:
            frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias(name))
    return frame.with_row_index(LINE, offset=2).with_columns(pl.col(LINE).cast(pl.Int64))


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file (its first line only)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        first = handle.readline()
    return [name.strip().strip('"') for name in first.rstrip("\r\n").split(",")] if first else []


def require_header(files: ExportFiles, table: str) -> None:
    """For a CSV file: raise InputError unless its header has the table's columns."""
    path = files.path(table)
    if SUFFIXES[path.suffix] != "csv":
        return
    columns = TABLES[table]
    header = csv_header(path)
    missing = [c for c in columns if c not in header]
    if missing:
        raise InputError(
            f"--adapter {NAME}: {path}",
            f"column(s) {', '.join(missing)} missing (expected {', '.join(columns)}; "
            f"it has {', '.join(header) or 'none'})",
        )


def read_table(files: ExportFiles, table: str) -> pl.DataFrame:
    """One vendor table as text columns plus ``LINE``.

    A required column absent from the file is an InputError naming the adapter, the file and
    what was expected.
    """
    path = files.path(table)
    columns = TABLES[table]
    fmt = SUFFIXES[path.suffix]
    if fmt == "csv":
        require_header(files, table)
        frame = _read_csv(path, columns)
    else:
        frame = _read_jsonl(path, columns)
        if frame.height:
            absent = [c for c in columns if frame.get_column(c).null_count() == frame.height]
            if absent:
                raise InputError(
                    f"--adapter {NAME}: {path}",
                    f"field(s) {', '.join(absent)} missing from every record (expected "
                    f"{', '.join(columns)} in each {table[:-1]})",
                )
    return frame.select(LINE, *columns, *USER_DATA)
