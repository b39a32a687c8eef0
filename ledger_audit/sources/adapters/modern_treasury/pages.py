"""The export folder: list-endpoint JSON, validated by the official SDK's own models.

Each endpoint is one ``<endpoint>.json`` holding a JSON array (the list pages joined), or a
folder ``<endpoint>/`` of page files (``*.json``, read in name order), each an array. Every
record is validated with the ``modern_treasury`` package's pydantic model of that endpoint
(``Ledger``, ``LedgerAccount``, ``LedgerTransaction``, ``LedgerTransactionVersion``, the
statement response), so the field names and types are the vendor's, not ours. A record the
model refuses is rejected, naming the file, its position in the array and the field; a file
that is not JSON at all is an InputError naming the file and line.

The SDK parses each record in pydantic's core; Modern Treasury's list endpoints are
rate-limited (20 requests/s, pages of at most 100), so exports stay in the tens of thousands
of records and this per-record validation is the vendor's own code path, not a hot loop.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from modern_treasury.types import Ledger, LedgerAccount, LedgerTransaction
from modern_treasury.types.ledger_account_statement_retrieve_response import (
    LedgerAccountStatementRetrieveResponse,
)
from modern_treasury.types.ledger_transactions import LedgerTransactionVersion
from pydantic import BaseModel, TypeAdapter, ValidationError

from ledger_audit.errors import InputError, excerpt
from ledger_audit.sources.ledger_frames import REJECTION_SCHEMA, empty_rejections

NAME = "modern-treasury"

ENDPOINTS: dict[str, type[BaseModel]] = {
    "ledgers": Ledger,
    "ledger_accounts": LedgerAccount,
    "ledger_transactions": LedgerTransaction,
    "ledger_transaction_versions": LedgerTransactionVersion,
    "ledger_account_statements": LedgerAccountStatementRetrieveResponse,
}
REQUIRED = ("ledgers", "ledger_accounts", "ledger_transactions")
OPTIONAL = ("ledger_transaction_versions", "ledger_account_statements")


def _where(path: Path) -> str:
    return f"--adapter {NAME}: {path}"


@dataclass(frozen=True, slots=True, eq=False)
class Page:
    """One endpoint's records that the SDK model accepted, and the ones it refused.

    Attributes:
        endpoint: the list endpoint (``ledger_transactions``).
        records: the validated models, in file then array order.
        places: ``file#index`` of each record, parallel to ``records``.
        rejections: REJECTION_SCHEMA rows of the refused records.
        read: records read.
    """

    endpoint: str
    records: tuple[Any, ...]
    places: tuple[str, ...]
    rejections: pl.DataFrame
    read: int

    @property
    def rejected(self) -> int:
        """Records the model refused."""
        return self.read - len(self.records)


def endpoint_files(folder: Path, endpoint: str) -> list[Path] | None:
    """The files of one endpoint (a file, or a folder of pages), or None if absent."""
    single = folder / f"{endpoint}.json"
    pages = folder / endpoint
    if single.is_file():
        return [single]
    if pages.is_dir():
        return sorted(pages.glob("*.json"))
    return None


def require_folder(source: str | Path) -> Path:
    """The export folder; a missing folder or required endpoint is an InputError."""
    folder = Path(source)
    if not folder.is_dir():
        raise InputError(
            _where(folder),
            "not a folder (expected a folder of list-endpoint JSON: "
            f"{', '.join(f'{e}.json' for e in REQUIRED)})",
        )
    for endpoint in REQUIRED:
        if endpoint_files(folder, endpoint) is None:
            raise InputError(
                _where(folder),
                f"table {endpoint!r} is missing (expected {endpoint}.json or a folder "
                f"{endpoint}/ of pages, each a JSON array of {ENDPOINTS[endpoint].__name__} "
                f"objects; required: {', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})",
            )
    return folder


def _array(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(_where(path), f"cannot read the file: {exc}") from exc
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        line = text.splitlines()[exc.lineno - 1] if text.splitlines() else ""
        raise InputError(
            f"{_where(path)}:{exc.lineno}",
            f"malformed JSON ({exc.msg} at column {exc.colno}; expected a JSON array of "
            f"list-endpoint objects): {excerpt(line.strip())}",
        ) from exc
    if isinstance(value, dict) and isinstance(value.get("data"), list):
        value = value["data"]  # a page kept with its envelope
    if not isinstance(value, list):
        raise InputError(
            _where(path), f"expected a JSON array of objects, found {type(value).__name__}"
        )
    return value


def _validated(adapter: TypeAdapter[list[Any]], path: Path) -> list[Any] | None:
    """The file's records, parsed and validated by pydantic's core in one pass.

    None when any record fails, or the file is not a bare JSON array: the slow path then
    says which record and why.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(_where(path), f"cannot read the file: {exc}") from exc
    try:
        return adapter.validate_json(data)
    except ValidationError:
        return None


def _refusals(adapter: TypeAdapter[list[Any]], raw: list[Any]) -> dict[int, tuple[str, str]]:
    """Per refused array index: the first failing field and the model's reason."""
    try:
        adapter.validate_python(raw)
    except ValidationError as error:
        problems = error.errors()
    else:
        return {}
    refused: dict[int, tuple[str, str]] = {}
    for problem in problems:
        location = problem["loc"]
        if not location or not isinstance(location[0], int):
            continue
        field = ".".join(str(part) for part in location[1:]) or "(record)"
        refused.setdefault(location[0], (field, f"{problem['type']}: {problem['msg']}"))
    return refused


def read_endpoint(folder: Path, endpoint: str) -> Page:
    """Read and validate one endpoint's records (an absent optional endpoint is empty)."""
    files = endpoint_files(folder, endpoint) or []
    adapter: TypeAdapter[list[Any]] = TypeAdapter(list[ENDPOINTS[endpoint]])  # type: ignore[valid-type]
    records: list[Any] = []
    places: list[str] = []
    rejected: list[dict[str, str]] = []
    read = 0
    for path in files:
        fast = _validated(adapter, path)
        if fast is not None:
            models = fast
            good = list(range(len(models)))
            read += len(models)
        else:
            raw = _array(path)
            read += len(raw)
            refused = _refusals(adapter, raw)
            good = [i for i in range(len(raw)) if i not in refused]
            models = adapter.validate_python([raw[i] for i in good])
            for index, (field, reason) in sorted(refused.items()):
                value = raw[index]
                rejected.append(
                    {
                        "source": str(path),
                        "table": endpoint,
                        "locator": f"record {index}"
                        + (
                            f" (id {value['id']})"
                            if isinstance(value, dict) and "id" in value
                            else ""
                        ),
                        "column": field,
                        "reason": excerpt(reason),
                        "raw_value": excerpt(json.dumps(_field(value, field))),
                    }
                )
        for index, model in zip(good, models, strict=True):
            wide = _too_wide(model)
            if wide is None:
                records.append(model)
                places.append(f"{path}#{index}")
                continue
            field, value = wide
            rejected.append(
                {
                    "source": str(path),
                    "table": endpoint,
                    "locator": f"record {index} (id {model.id})",
                    "column": field,
                    "reason": "amount_beyond_38_digits",
                    "raw_value": excerpt(str(value)),
                }
            )
    rejections = pl.DataFrame(rejected, schema=REJECTION_SCHEMA) if rejected else empty_rejections()
    return Page(endpoint, tuple(records), tuple(places), rejections, read)


_LIMIT = 10**38
"""Decimal(38, 0), the canonical wide amount: a record holding more digits is rejected whole."""


def _too_wide(model: BaseModel) -> tuple[str, int] | None:
    """The first amount or balance cell of ``model`` beyond 38 digits (field, value)."""
    fields = model.__dict__  # the validated values; attribute lookups go through extras
    for i, entry in enumerate(fields.get("ledger_entries") or ()):
        if abs(entry.amount) >= _LIMIT:
            return f"ledger_entries.{i}.amount", int(entry.amount)
    for name in ("balances", "starting_balance", "ending_balance"):
        balances = fields.get(name)
        if balances is None:
            continue
        for kind in ("posted_balance", "pending_balance"):
            balance = getattr(balances, kind)
            for cell in ("debits", "credits"):
                value = getattr(balance, cell)
                if abs(value) >= _LIMIT:
                    return f"{name}.{kind}.{cell}", int(value)
    return None


def _field(value: object, field: str) -> object:
    for part in field.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def read_all(folder: Path, endpoints: Sequence[str] = tuple(ENDPOINTS)) -> dict[str, Page]:
    """Every endpoint's page."""
    return {endpoint: read_endpoint(folder, endpoint) for endpoint in endpoints}
