"""Read ``mapping.toml`` into a :class:`SourceMapping`; every problem names file:line and key.

Parsing checks the form only (known keys, right types, allowed values, the sections a shape
needs); :mod:`ledger_audit.sources.mapping.validate` then checks the mapping against the
source's catalogue, still before any row is read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger_audit.errors import InputError
from ledger_audit.schema.times import iso_to_ns
from ledger_audit.sources.mapping.relations import RelationRef
from ledger_audit.sources.mapping.spec import (
    CANONICAL_VALUES,
    FORMAT,
    AccountsSpec,
    AssetsSpec,
    BalancesSpec,
    ChainSpec,
    EntriesSpec,
    EntryShape,
    Field,
    FieldKind,
    HistorySpec,
    LedgerSpec,
    Section,
    SourceMapping,
    TransactionShape,
    TransactionsSpec,
)
from ledger_audit.sources.toml_file import parse_toml, read_text

FILL_IN = "FILL-IN"
"""The placeholder ``init`` writes where it could not decide; refused until replaced."""

_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_.]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=")
_EPOCHS = ("s", "ms", "us", "ns")
MAX_SCALE = 38
_FIELD_OPTIONS = frozenset(
    {
        "column",
        "value",
        "map",
        "prefixes",
        "default",
        "units",
        "sign",
        "allow_float",
        "epoch",
        "timezone",
    }
)


class _Lines:
    """``file:line`` of every ``[section]`` header and ``key =`` line of a TOML text."""

    def __init__(self, text: str, path: Path) -> None:
        self.path = path
        self._lines: dict[tuple[str, str], int] = {}
        section = ""
        for number, line in enumerate(text.splitlines(), start=1):
            if header := _HEADER.match(line):
                section = header.group(1)
                self._lines.setdefault((section, ""), number)
            elif key := _KEY.match(line):
                self._lines.setdefault((section, key.group(1)), number)
        self._text = text.splitlines()

    def at(self, section: str, key: str = "") -> str:
        """``file:line`` of ``key`` in ``section`` (the section's header, or the file)."""
        line = self._lines.get((section, key)) or self._lines.get((section, ""))
        return f"{self.path}:{line}" if line else str(self.path)

    def comment(self, section: str, key: str) -> str:
        """The comment at the end of ``key``'s line (``init`` explains placeholders there)."""
        line = self._lines.get((section, key))
        if line is None:
            return ""
        _, _, comment = self._text[line - 1].partition("#")
        return comment.strip()


class _Reader:
    """Reads one section's keys, refusing unknown ones and checking each value's form."""

    def __init__(self, lines: _Lines, section: str, table: Mapping[str, Any]) -> None:
        self.lines = lines
        self.section = section
        self.table = table

    def error(self, key: str, reason: str) -> InputError:
        where = self.lines.at(self.section, key)
        name = f"{self.section}.{key}" if key else f"[{self.section}]"
        return InputError(where, f"{name}: {reason}")

    def refuse_unknown(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.error(key, f"unknown key; [{self.section}] takes: {known}")

    def has(self, key: str) -> bool:
        return key in self.table

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            raise self.error(key, f"must be text, got {value!r}")
        if value == FILL_IN:
            raise self._fill_in(key)
        return value

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.error("", f"missing key {key!r}")
        return value

    def _fill_in(self, key: str) -> InputError:
        why = self.lines.comment(self.section, key)
        return self.error(key, f"to fill in{': ' + why if why else ''} (see docs/mapping.md)")

    def relation(self, *, default: RelationRef | None = None) -> Section:
        name, query = self.text("from"), self.text("query")
        if name is not None and query is not None:
            raise self.error("query", "give either from or query, not both")
        if name is None and query is None:
            if default is None:
                raise self.error("", "missing key 'from' (a table, view or file) or 'query'")
            ref = default
        else:
            ref = RelationRef(name=name, query=query)
        return Section(self.section, self.lines.at(self.section), ref)

    def field(
        self, key: str, kind: FieldKind, *, required: bool = False, enum: str | None = None
    ) -> Field | None:
        """The field under ``key``: a column name, or a table of column/value and options."""
        if key not in self.table:
            if required:
                raise self.error("", f"missing key {key!r}")
            return None
        raw = self.table[key]
        where = self.lines.at(self.section, key)
        dotted = f"{self.section}.{key}"
        if isinstance(raw, str):
            if raw == FILL_IN:
                raise self._fill_in(key)
            return Field(dotted, where, kind, column=raw)
        if not isinstance(raw, dict):
            raise self.error(key, f"must be a column name or a table, got {raw!r}")
        unknown = set(raw) - _FIELD_OPTIONS
        if unknown:
            raise self.error(key, f"unknown option(s) {', '.join(sorted(unknown))}")
        column, value = raw.get("column"), raw.get("value")
        if FILL_IN in (column, value):
            raise self._fill_in(key)
        prefixes = raw.get("prefixes")
        if (column is None) == (value is None) and prefixes is None:
            raise self.error(key, "give exactly one of column or value")
        if column is not None and not isinstance(column, str):
            raise self.error(key, f"column must be a name, got {column!r}")
        return Field(
            dotted,
            where,
            kind,
            column=column,
            value=self._constant(key, value, kind, enum),
            value_map=self._map(key, raw.get("map"), enum),
            prefixes=self._prefixes(key, prefixes, enum),
            default=self._canonical(key, raw.get("default"), enum),
            units=self._choice(key, raw, "units", ("minor", "major"), "minor"),
            sign=self._sign(key, raw, kind),
            allow_float=self._flag(key, raw, "allow_float"),
            epoch=self._epoch(key, raw),
            timezone=self._zone(key, raw.get("timezone")),
        )

    def _constant(
        self, key: str, value: object, kind: FieldKind, enum: str | None
    ) -> str | int | bool | None:
        if value is None:
            return None
        if kind == FieldKind.ENUM:
            return self._canonical(key, value, enum)
        if kind == FieldKind.BOOLEAN and isinstance(value, bool):
            return value
        if kind == FieldKind.INTEGER and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == FieldKind.TEXT and isinstance(value, str):
            return value
        raise self.error(key, f"a constant {kind.value} cannot be {value!r}")

    def _canonical(self, key: str, value: object, enum: str | None) -> str | None:
        if value is None:
            return None
        allowed = CANONICAL_VALUES.get(enum or "", frozenset())
        if value == FILL_IN:
            raise self._fill_in(key)
        if not isinstance(value, str) or value not in allowed:
            raise self.error(key, f"{value!r} is not one of {', '.join(sorted(allowed))}")
        return value

    def _map(self, key: str, raw: object, enum: str | None) -> tuple[tuple[str, str], ...]:
        if raw is None:
            return ()
        if enum is None or not isinstance(raw, dict) or not raw:
            raise self.error(key, "map must be a non-empty table of source value = canonical value")
        return tuple(
            (str(source), str(self._canonical(key, target, enum))) for source, target in raw.items()
        )

    def _prefixes(self, key: str, raw: object, enum: str | None) -> tuple[tuple[str, str], ...]:
        if raw is None:
            return ()
        if enum != "normal_balance" or not isinstance(raw, dict) or not raw:
            raise self.error(
                key, "prefixes is a non-empty table of account-id prefix = debit|credit"
            )
        pairs = [(str(p), str(self._canonical(key, v, enum))) for p, v in raw.items()]
        return tuple(sorted(pairs, key=lambda pair: (-len(pair[0]), pair[0])))

    def _choice(
        self, key: str, raw: Mapping[str, Any], option: str, allowed: tuple[str, ...], default: str
    ) -> str:
        value = raw.get(option, default)
        if value not in allowed:
            raise self.error(key, f"{option} must be one of {', '.join(allowed)}, got {value!r}")
        return str(value)

    def _sign(self, key: str, raw: Mapping[str, Any], kind: FieldKind) -> str | None:
        value = raw.get("sign")
        if value is None:
            return None
        allowed = ("debit_positive", "credit_positive")
        if kind != FieldKind.AMOUNT or value not in allowed:
            raise self.error(key, f"sign must be one of {', '.join(allowed)}, got {value!r}")
        return str(value)

    def _flag(self, key: str, raw: Mapping[str, Any], option: str) -> bool:
        value = raw.get(option, False)
        if not isinstance(value, bool):
            raise self.error(key, f"{option} must be true or false, got {value!r}")
        return value

    def _epoch(self, key: str, raw: Mapping[str, Any]) -> str | None:
        value = raw.get("epoch")
        if value is not None and value not in _EPOCHS:
            raise self.error(key, f"epoch must be one of {', '.join(_EPOCHS)}, got {value!r}")
        return None if value is None else str(value)

    def _zone(self, key: str, value: object) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise self.error(key, f"unknown time zone {value!r}") from exc
        return str(value)


def _table(doc: Mapping[str, Any], lines: _Lines, name: str, *, required: bool) -> _Reader | None:
    parent, _, child = name.partition(".")
    value: Any = doc.get(parent)
    if child and isinstance(value, dict):
        value = value.get(child)
    elif child:
        value = None
    if value is None:
        if required:
            raise InputError(str(lines.path), f"missing section [{name}] (see docs/mapping.md)")
        return None
    if not isinstance(value, dict):
        raise InputError(lines.at(name), f"[{name}] must be a table")
    return _Reader(lines, name, value)


def _ledger(reader: _Reader) -> LedgerSpec:
    reader.refuse_unknown({"id", "name", "timezone", "closed_through"})
    closed = reader.text("closed_through")
    closed_ns = None
    if closed is not None:
        try:
            closed_ns = iso_to_ns(closed)
        except ValueError as exc:
            raise reader.error("closed_through", str(exc)) from exc
    zone = reader.text("timezone")
    if zone is not None:
        reader._zone("timezone", zone)  # noqa: SLF001 - the same check as a field's
    return LedgerSpec(
        id=reader.required_text("id"),
        name=reader.text("name"),
        timezone=zone,
        closed_through_ns=closed_ns,
        where=reader.lines.at("ledger"),
    )


def _assets(reader: _Reader) -> AssetsSpec:
    reader.refuse_unknown({"scale", "scales", "from", "query", "code", "kind"})
    where = reader.lines.at("assets")
    kind = reader.text("kind", "currency") or "currency"
    forms = [k for k in ("scale", "scales", "from", "query") if reader.has(k)]
    if not forms or (
        len(forms) > 1 and set(forms) != {"from", "scale"} and set(forms) != {"query", "scale"}
    ):
        raise reader.error("", "give one of scale, scales, or from/query with code and scale")
    if reader.has("from") or reader.has("query"):
        return AssetsSpec(
            where=where,
            section=reader.relation(),
            code=reader.field("code", FieldKind.TEXT, required=True),
            scale_field=reader.field("scale", FieldKind.INTEGER, required=True),
            kind=kind,
        )
    if reader.has("scale"):
        scale = reader.table["scale"]
        if scale == FILL_IN:
            raise reader._fill_in("scale")  # noqa: SLF001 - the reader's own message
        if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= MAX_SCALE:
            raise reader.error("scale", f"must be an integer 0..38, got {scale!r}")
        return AssetsSpec(where=where, scale=scale, kind=kind)
    scales = reader.table["scales"]
    if not isinstance(scales, dict) or not scales:
        raise reader.error("scales", "must be a table of currency code = scale")
    for code, scale in scales.items():
        if scale == FILL_IN:
            raise reader._fill_in("scales")  # noqa: SLF001 - the reader's own message
        if not isinstance(scale, int) or isinstance(scale, bool) or not 0 <= scale <= MAX_SCALE:
            raise reader.error("scales", f"scale of {code!r} must be an integer 0..38")
    return AssetsSpec(
        where=where, scales=tuple(sorted((str(c), int(s)) for c, s in scales.items())), kind=kind
    )


_ACCOUNT_KEYS = {
    "ledger_id",
    "from",
    "query",
    "derive",
    "id",
    "name",
    "normal_balance",
    "currency",
    "allow_negative",
    "opened_at",
    "closed_at",
    "external_id",
    "metadata",
}


def _accounts(reader: _Reader) -> AccountsSpec:
    reader.refuse_unknown(_ACCOUNT_KEYS)
    derive = reader.table.get("derive", False)
    if not isinstance(derive, bool):
        raise reader.error("derive", f"must be true or false, got {derive!r}")
    normal = reader.field("normal_balance", FieldKind.ENUM, required=True, enum="normal_balance")
    assert normal is not None  # noqa: S101 - required=True
    where = reader.lines.at("accounts")
    if derive:
        if reader.has("from") or reader.has("query"):
            raise reader.error("derive", "derive = true takes no from/query")
        if not normal.prefixes and normal.value is None:
            raise reader.error(
                "normal_balance", "derived accounts need prefixes = {...} or a constant value"
            )
        return AccountsSpec(where=where, normal_balance=normal)
    return AccountsSpec(
        where=where,
        normal_balance=normal,
        section=reader.relation(),
        id=reader.field("id", FieldKind.TEXT, required=True),
        name=reader.field("name", FieldKind.TEXT),
        currency=reader.field("currency", FieldKind.TEXT),
        allow_negative=reader.field("allow_negative", FieldKind.BOOLEAN),
        opened_at=reader.field("opened_at", FieldKind.TIME),
        closed_at=reader.field("closed_at", FieldKind.TIME),
        external_id=reader.field("external_id", FieldKind.TEXT),
        metadata=reader.field("metadata", FieldKind.TEXT),
        ledger_id=reader.field("ledger_id", FieldKind.TEXT),
    )


def _history(reader: _Reader) -> HistorySpec:
    reader.refuse_unknown({"from", "query", "ledger_id", "transaction_id", "status", "at", "order"})
    return HistorySpec(
        section=reader.relation(),
        transaction_id=_need(reader.field("transaction_id", FieldKind.TEXT, required=True)),
        status=_need(reader.field("status", FieldKind.ENUM, required=True, enum="status")),
        at=_need(reader.field("at", FieldKind.TIME, required=True)),
        order=reader.field("order", FieldKind.TEXT),
        ledger_id=reader.field("ledger_id", FieldKind.TEXT),
    )


def _need(field: Field | None) -> Field:
    if field is None:  # pragma: no cover - required=True raises first
        raise InputError("mapping", "internal: a required field is missing")
    return field


_TRANSACTION_KEYS = {
    "ledger_id",
    "from",
    "query",
    "shape",
    "id",
    "version",
    "status",
    "kind",
    "recorded_at",
    "effective_at",
    "pending_id",
    "reverses_id",
    "idempotency_key",
    "external_id",
    "description",
    "metadata",
    "history",
}


def _transactions(
    reader: _Reader, doc: Mapping[str, Any], lines: _Lines, entries: RelationRef
) -> TransactionsSpec:
    reader.refuse_unknown(_TRANSACTION_KEYS)
    shape_text = reader.text("shape", "row") or "row"
    try:
        shape = TransactionShape(shape_text)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in TransactionShape)
        raise reader.error("shape", f"must be one of {allowed}, got {shape_text!r}") from exc
    history_reader = _table(doc, lines, "transactions.history", required=False)
    if (shape == TransactionShape.HISTORY) != (history_reader is not None):
        raise reader.error(
            "shape", "shape = 'history' and a [transactions.history] table go together"
        )
    version = reader.field("version", FieldKind.INTEGER)
    if shape == TransactionShape.VERSIONED and version is None:
        raise reader.error("", "shape = 'versioned' needs version = <column>")
    if shape != TransactionShape.VERSIONED and version is not None:
        raise reader.error("version", "version is for shape = 'versioned'")
    status = reader.field("status", FieldKind.ENUM, enum="status")
    if status is None and shape != TransactionShape.HISTORY:
        raise reader.error("", "missing key 'status' (a constant: status = { value = 'posted' })")
    history = None if history_reader is None else _history(history_reader)
    return TransactionsSpec(
        section=reader.relation(default=entries),
        shape=shape,
        id=_need(reader.field("id", FieldKind.TEXT, required=True)),
        status=status or history.status if history is not None else _need(status),
        recorded_at=_need(
            reader.field("recorded_at", FieldKind.TIME, required=shape != TransactionShape.HISTORY)
            or (history.at if history is not None else None)
        ),
        version=version,
        kind=reader.field("kind", FieldKind.ENUM, enum="kind"),
        effective_at=reader.field("effective_at", FieldKind.TIME),
        pending_id=reader.field("pending_id", FieldKind.TEXT),
        reverses_id=reader.field("reverses_id", FieldKind.TEXT),
        idempotency_key=reader.field("idempotency_key", FieldKind.TEXT),
        external_id=reader.field("external_id", FieldKind.TEXT),
        description=reader.field("description", FieldKind.TEXT),
        metadata=reader.field("metadata", FieldKind.TEXT),
        history=history,
        ledger_id=reader.field("ledger_id", FieldKind.TEXT),
    )


_ENTRY_KEYS = {
    "ledger_id",
    "from",
    "query",
    "shape",
    "row_id",
    "transaction_id",
    "version",
    "index",
    "account",
    "direction",
    "amount",
    "currency",
    "debit_account",
    "credit_account",
}


def _entries(reader: _Reader) -> EntriesSpec:
    reader.refuse_unknown(_ENTRY_KEYS)
    shape_text = reader.text("shape", "entry") or "entry"
    try:
        shape = EntryShape(shape_text)
    except ValueError as exc:
        allowed = ", ".join(s.value for s in EntryShape)
        raise reader.error("shape", f"must be one of {allowed}, got {shape_text!r}") from exc
    amount = _need(reader.field("amount", FieldKind.AMOUNT, required=True))
    direction = reader.field("direction", FieldKind.ENUM, enum="direction")
    if shape == EntryShape.ENTRY:
        for key in ("debit_account", "credit_account"):
            if reader.has(key):
                raise reader.error(key, "is for shape = 'transfer'")
        if (direction is None) == (amount.sign is None):
            raise reader.error(
                "amount",
                "give either a direction column or a signed amount "
                "(amount = { column = ..., sign = 'debit_positive' })",
            )
        account = reader.field("account", FieldKind.TEXT, required=True)
        debit = credit = None
    else:
        if direction is not None or amount.sign is not None:
            raise reader.error("amount", "a transfer's amount is unsigned and has no direction")
        account = reader.field("account", FieldKind.TEXT)
        if account is not None:
            raise reader.error("account", "a transfer has debit_account and credit_account")
        debit = reader.field("debit_account", FieldKind.TEXT, required=True)
        credit = reader.field("credit_account", FieldKind.TEXT, required=True)
    transaction_id = reader.field("transaction_id", FieldKind.TEXT)
    row_id = reader.field("row_id", FieldKind.TEXT)
    if transaction_id is None and (shape == EntryShape.ENTRY or row_id is None):
        raise reader.error("", "missing key 'transaction_id'")
    return EntriesSpec(
        section=reader.relation(),
        shape=shape,
        amount=amount,
        currency=_need(reader.field("currency", FieldKind.TEXT, required=True)),
        transaction_id=transaction_id,
        row_id=row_id,
        version=reader.field("version", FieldKind.INTEGER),
        index=reader.field("index", FieldKind.INTEGER),
        account=account,
        direction=direction,
        debit_account=debit,
        credit_account=credit,
        ledger_id=reader.field("ledger_id", FieldKind.TEXT),
    )


def _balances(reader: _Reader) -> BalancesSpec:
    names = ("posted_debits", "posted_credits", "pending_debits", "pending_credits")
    reader.refuse_unknown(
        {"from", "query", "ledger_id", "account", "currency", "as_of", "lock_version", *names}
    )
    amounts = [_need(reader.field(n, FieldKind.AMOUNT, required=True)) for n in names]
    for field in amounts:
        if field.sign is not None:
            raise reader.error(field.key.rsplit(".", 1)[1], "stored balances are unsigned totals")
    return BalancesSpec(
        section=reader.relation(),
        account=_need(reader.field("account", FieldKind.TEXT, required=True)),
        currency=_need(reader.field("currency", FieldKind.TEXT, required=True)),
        posted_debits=amounts[0],
        posted_credits=amounts[1],
        pending_debits=amounts[2],
        pending_credits=amounts[3],
        as_of=_need(reader.field("as_of", FieldKind.TIME, required=True)),
        lock_version=reader.field("lock_version", FieldKind.INTEGER),
        ledger_id=reader.field("ledger_id", FieldKind.TEXT),
    )


def _chain(reader: _Reader) -> ChainSpec:
    reader.refuse_unknown({"algorithm", "seq", "prev_hash", "content_hash", "hash", "meta_hash"})
    algorithm = reader.required_text("algorithm")
    if algorithm != "lach/1":
        raise reader.error("algorithm", f"only 'lach/1' is verified, got {algorithm!r}")
    return ChainSpec(
        where=reader.lines.at("chain"),
        algorithm=algorithm,
        seq=_need(reader.field("seq", FieldKind.INTEGER, required=True)),
        prev_hash=_need(reader.field("prev_hash", FieldKind.TEXT, required=True)),
        content_hash=_need(reader.field("content_hash", FieldKind.TEXT, required=True)),
        hash=_need(reader.field("hash", FieldKind.TEXT, required=True)),
        meta_hash=reader.field("meta_hash", FieldKind.TEXT),
    )


def parse_mapping(text: str, path: Path) -> SourceMapping:
    """The mapping in ``text`` (read from ``path``, which errors name)."""
    doc = parse_toml(text, str(path))
    lines = _Lines(text, path)
    top = _Reader(lines, "", doc)
    allowed = {
        "format",
        "ledger",
        "assets",
        "accounts",
        "transactions",
        "entries",
        "balances",
        "chain",
    }
    foreign = {"rules", "gl_accounts", "suspense_account", "rails", "clearing_account"}
    hint = ""
    if foreign.intersection(doc):
        hint = " (this looks like a GL mapping or rules file, not a source mapping)"
    for key in doc:
        if key not in allowed:
            raise InputError(lines.at("", key), f"unknown key {key!r}{hint}")
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise InputError(
            lines.at("", "format"),
            f"format must be {FORMAT!r}, got {fmt!r} (see docs/mapping.md)",
        )
    del top
    # Sections are read in the order of the format, so the first problem reported is the
    # first a reader of the file meets; [transactions] only needs to know where the entries
    # live (its default relation), which is read ahead.
    entries_reader = _need_table(doc, lines, "entries")
    entries_relation = entries_reader.relation().relation
    ledger = _ledger(_need_table(doc, lines, "ledger"))
    assets = _assets(_need_table(doc, lines, "assets"))
    accounts = _accounts(_need_table(doc, lines, "accounts"))
    transactions = _transactions(
        _need_table(doc, lines, "transactions"), doc, lines, entries_relation
    )
    entries = _entries(entries_reader)
    balances = _table(doc, lines, "balances", required=False)
    chain = _table(doc, lines, "chain", required=False)
    return SourceMapping(
        path=path,
        ledger=ledger,
        assets=assets,
        accounts=accounts,
        transactions=transactions,
        entries=entries,
        balances=None if balances is None else _balances(balances),
        chain=None if chain is None else _chain(chain),
    )


def _need_table(doc: Mapping[str, Any], lines: _Lines, name: str) -> _Reader:
    reader = _table(doc, lines, name, required=True)
    if reader is None:  # pragma: no cover - required=True raises first
        raise InputError(str(lines.path), f"missing section [{name}]")
    return reader


def read_mapping(path: Path) -> SourceMapping:
    """Read and check the form of the mapping file at ``path``."""
    return parse_mapping(read_text(path, "source mapping"), path)
