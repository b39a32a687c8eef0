"""Check a mapping against the source's catalogue before any row is read.

Each referenced column must exist (the error lists what the relation has), and its type must
fit the field: a float amount needs ``allow_float``, an integer time needs ``epoch``, a naive
timestamp needs a time zone. Returns the columns to read per relation.
"""

from __future__ import annotations

from collections.abc import Iterator

from ledger_audit.errors import InputError
from ledger_audit.sources.mapping.relations import Column, RelationRef, RelationSource, TypeClass
from ledger_audit.sources.mapping.spec import Field, FieldKind, Section, SourceMapping


def section_fields(mapping: SourceMapping) -> Iterator[tuple[Section, Field]]:
    """Every (section, field) pair that reads a column, in file order."""
    t = mapping.transactions
    e = mapping.entries
    a = mapping.accounts
    groups: list[tuple[Section | None, tuple[Field | None, ...]]] = [
        (mapping.assets.section, (mapping.assets.code, mapping.assets.scale_field)),
        (
            a.section,
            (
                a.ledger_id,
                a.id,
                a.name,
                a.normal_balance,
                a.currency,
                a.allow_negative,
                a.opened_at,
                a.closed_at,
                a.external_id,
                a.metadata,
            ),
        ),
        (
            t.section,
            (
                t.ledger_id,
                t.id,
                t.version,
                None if t.history else t.status,
                t.kind,
                None if t.history else t.recorded_at,
                t.effective_at,
                t.pending_id,
                t.reverses_id,
                t.idempotency_key,
                t.external_id,
                t.description,
                t.metadata,
            ),
        ),
        (
            e.section,
            (
                e.ledger_id,
                e.transaction_id,
                e.row_id,
                e.version,
                e.index,
                e.account,
                e.direction,
                e.amount,
                e.currency,
                e.debit_account,
                e.credit_account,
            ),
        ),
    ]
    if t.history is not None:
        h = t.history
        groups.append((h.section, (h.ledger_id, h.transaction_id, h.status, h.at, h.order)))
    if mapping.balances is not None:
        b = mapping.balances
        groups.append(
            (
                b.section,
                (
                    b.ledger_id,
                    b.account,
                    b.currency,
                    b.posted_debits,
                    b.posted_credits,
                    b.pending_debits,
                    b.pending_credits,
                    b.as_of,
                    b.lock_version,
                ),
            )
        )
    if mapping.chain is not None:
        c = mapping.chain
        groups.append((t.section, (c.seq, c.prev_hash, c.content_hash, c.hash, c.meta_hash)))
    for section, fields in groups:
        if section is None:
            continue
        for field in fields:
            if field is not None and field.column is not None:
                yield section, field


def _type_problem(  # noqa: PLR0911 - one rule per field kind and type
    field: Field, column: Column, zone: str | None
) -> str | None:
    cls = column.type_class
    described = f"column {column.name!r} is {column.source_type or cls.value}"
    if field.kind == FieldKind.AMOUNT:
        if cls == TypeClass.FLOAT and not field.allow_float:
            return (
                f"{described} (a float: amounts in it may already be inexact); set "
                "allow_float = true to accept it, and the audit will say so"
            )
        if cls in {
            TypeClass.TIMESTAMP,
            TypeClass.TIMESTAMP_TZ,
            TypeClass.DATE,
            TypeClass.BOOLEAN,
            TypeClass.OTHER,
        }:
            return f"{described}, not an amount"
        if (
            cls == TypeClass.DECIMAL
            and field.units == "minor"
            and column.source_type.startswith("Decimal")
            and not column.source_type.endswith(", 0)")
        ):
            return f"{described} with decimals: set units = 'major' if it is in major units"
    if field.kind == FieldKind.TIME:
        if cls == TypeClass.INTEGER and field.epoch is None:
            return f"{described}: say its epoch unit (epoch = 's' | 'ms' | 'us' | 'ns')"
        if cls in {TypeClass.TIMESTAMP, TypeClass.DATE} and (field.timezone or zone) is None:
            return f"{described} without a time zone: set [ledger] timezone"
        if cls in {TypeClass.FLOAT, TypeClass.BOOLEAN, TypeClass.DECIMAL, TypeClass.OTHER}:
            return f"{described}, not a time"
    if field.kind == FieldKind.INTEGER and cls in {
        TypeClass.FLOAT,
        TypeClass.TIMESTAMP,
        TypeClass.TIMESTAMP_TZ,
        TypeClass.BOOLEAN,
    }:
        return f"{described}, not an integer"
    return None


def check_against_catalogue(
    mapping: SourceMapping, source: RelationSource
) -> dict[RelationRef, list[str]]:
    """Raise InputError for the first field the source cannot serve; else columns per relation."""
    catalogue: dict[RelationRef, dict[str, Column]] = {}
    wanted: dict[RelationRef, list[str]] = {}
    for section in mapping.sections():
        ref = section.relation
        if ref not in catalogue:
            try:
                columns = source.columns(ref)
            except InputError as exc:
                raise InputError(section.where, f"[{section.name}] {exc.reason}") from exc
            catalogue[ref] = {c.name: c for c in columns}
            wanted[ref] = []
    for section, field in section_fields(mapping):
        ref = section.relation
        known = catalogue[ref]
        name = str(field.column)
        if name not in known:
            has = ", ".join(known) or "no columns"
            where_is = f"{'query' if ref.query else 'table'} {ref.label!r}"
            raise InputError(
                field.where, f"{field.key}: column {name!r} not in {where_is}; it has: {has}"
            )
        problem = _type_problem(field, known[name], mapping.ledger.timezone)
        if problem is not None:
            raise InputError(field.where, f"{field.key}: {problem}")
        if name not in wanted[ref]:
            wanted[ref].append(name)
    return wanted
