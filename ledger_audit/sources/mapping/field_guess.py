"""How ``init`` reads one column from its type and sampled values: amounts, times, value maps.

Each function returns a :class:`Guess` (the value to write, how sure, and why) for one
mapping field. Sampled values are text (:mod:`catalogue`), so numbers and times are
recognised by their written form; the column's type class says what the source declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.mapping.catalogue import SampledRelation
from ledger_audit.sources.mapping.proposal import FILL_IN, Confidence, Inline, Value
from ledger_audit.sources.mapping.relations import Column, TypeClass
from ledger_audit.sources.mapping.vocabulary import MAJOR_HINTS, MINOR_HINTS

INTEGER_TEXT = r"^[+-]?\d+$"
DECIMAL_TEXT = r"^[+-]?(\d+\.\d*|\.\d+)$"
ISO_ZONED = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|z|[+-]\d{2}(:?\d{2})?|UTC)$"
ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"
MAX_MAP_VALUES = 40
"""More distinct values than this is not a status or direction column."""
_EPOCH_LIMITS = ((10**11, "s"), (10**14, "ms"), (10**17, "us"))
"""Upper bounds of today's epoch magnitudes: 1.7e9 s, 1.7e12 ms, 1.7e15 us, 1.7e18 ns."""


@dataclass(frozen=True, slots=True)
class Guess:
    """A proposed field value, how sure, and why.

    Attributes:
        value: what to write for the key (a column name, or an inline table).
        confidence: sure, guessed or undecided (``value`` then holds ``FILL-IN``).
        reason: one line.
        naive: a time read without a zone (the ledger's ``timezone`` applies).
    """

    value: Value
    confidence: Confidence
    reason: str
    naive: bool = False


def _short(values: tuple[str, ...], limit: int = 3) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" (+{len(values) - limit} more)" if len(values) > limit else "")


def _undecided(reason: str) -> Guess:
    return Guess(FILL_IN, Confidence.UNDECIDED, reason)


def has_negative(relation: SampledRelation, column: str) -> bool:
    """Whether a sampled value of ``column`` is written with a minus sign."""
    return bool(relation.values(column).str.strip_chars().str.starts_with("-").any())


def amount_units(relation: SampledRelation, column: Column) -> Guess:  # noqa: PLR0911 - one rule per form
    """``units``: integer minor units, or exact decimals in major units (``units = "major"``).

    The value is ``"minor"`` or ``"major"``; floats and unreadable text are undecided.
    """
    name = column.name.lower()
    if column.type_class == TypeClass.FLOAT or column.name in relation.real_columns:
        return _undecided(
            f"column {column.name!r} holds floats (binary fractions, not exact money): write "
            f'{{ column = "{column.name}", units = "major", allow_float = true }} to accept '
            "them (said in the coverage), or read a query that casts them to exact decimals"
        )
    if column.type_class == TypeClass.INTEGER:
        return Guess("minor", Confidence.SURE, f"integer column {column.name!r}: minor units")
    if column.type_class not in {TypeClass.DECIMAL, TypeClass.TEXT, TypeClass.ANY}:
        return _undecided(f"column {column.name!r} has type {column.source_type!r}, not a number")
    values = relation.values(column.name).str.strip_chars()
    is_int = values.str.contains(INTEGER_TEXT)
    is_decimal = values.str.contains(DECIMAL_TEXT)
    bad = tuple(values.filter(~(is_int | is_decimal)).unique().sort().to_list())
    if bad:
        return _undecided(f"column {column.name!r} has values like {_short(bad)}: not numbers")
    if bool(is_decimal.any()):
        example = values.filter(is_decimal).head(1).to_list()[0]
        return Guess("major", Confidence.SURE, f"decimal values like {example!r}: major units")
    if any(hint in name for hint in MAJOR_HINTS):
        return Guess("major", Confidence.GUESSED, f"whole numbers, named {column.name!r}: major")
    if any(hint in name for hint in MINOR_HINTS):
        return Guess("minor", Confidence.SURE, f"whole numbers, named {column.name!r}: minor")
    kind = "NUMERIC" if column.type_class == TypeClass.DECIMAL else "text"
    return Guess(
        "minor",
        Confidence.GUESSED,
        f"only whole numbers in {kind} column {column.name!r}: read as minor units",
    )


def _epoch_by_name(name: str) -> str | None:
    for suffix, unit in (("_ns", "ns"), ("_us", "us"), ("_ms", "ms"), ("_s", "s")):
        if name.endswith(suffix):
            return unit
    return None


def _epoch_by_magnitude(values: pl.Series) -> str | None:
    numbers = values.cast(pl.Int64(), strict=False).drop_nulls().abs()
    if numbers.is_empty():
        return None
    middle = int(numbers.sort()[numbers.len() // 2])
    for limit, unit in _EPOCH_LIMITS:
        if middle < limit:
            return unit
    return "ns"


def _epoch(column: Column, values: pl.Series) -> Guess:
    by_name = _epoch_by_name(column.name.lower())
    by_size = _epoch_by_magnitude(values)
    unit = by_name or by_size
    if unit is None:
        return _undecided(
            f"integer times in {column.name!r} and no sample to tell s, ms, us or ns: "
            f'write {{ column = "{column.name}", epoch = "<unit>" }}'
        )
    value = Inline((("column", column.name), ("epoch", unit)))
    if by_name is not None and by_size in {None, by_name}:
        return Guess(value, Confidence.SURE, f"epoch {unit} (name and magnitude agree)")
    if by_name is None:
        return Guess(value, Confidence.GUESSED, f"epoch {unit} from the values' magnitude")
    return Guess(
        value,
        Confidence.GUESSED,
        f"epoch {unit} by its name, though the values' magnitude says {by_size}",
    )


def time_field(relation: SampledRelation, column: Column) -> Guess:  # noqa: PLR0911 - one rule per kind
    """A time column: timestamptz as is, naive times in the ledger's zone, ISO text, epochs."""
    kind = column.type_class
    if kind == TypeClass.TIMESTAMP_TZ:
        return Guess(column.name, Confidence.SURE, "timestamp with time zone")
    if kind in {TypeClass.TIMESTAMP, TypeClass.DATE}:
        what = "timestamp without zone" if kind == TypeClass.TIMESTAMP else "date without time"
        return Guess(
            column.name, Confidence.GUESSED, f"{what}: read in the ledger's timezone", naive=True
        )
    values = relation.values(column.name).str.strip_chars()
    if kind == TypeClass.INTEGER:
        return _epoch(column, values)
    if kind not in {TypeClass.TEXT, TypeClass.ANY, TypeClass.DECIMAL}:
        return _undecided(f"column {column.name!r} of type {column.source_type!r} is not a time")
    if values.is_empty():
        return Guess(column.name, Confidence.GUESSED, "no sampled values: read as ISO 8601 text")
    if bool(values.str.contains(ISO_ZONED).all()):
        return Guess(column.name, Confidence.SURE, "ISO 8601 text with a zone")
    if bool(values.str.contains(ISO_NAIVE).all()):
        return Guess(
            column.name,
            Confidence.GUESSED,
            "ISO 8601 text without a zone: read in the ledger's timezone",
            naive=True,
        )
    if bool(values.str.contains(INTEGER_TEXT).all()):
        return _epoch(column, values)
    odd = tuple(
        values.filter(~values.str.contains(ISO_ZONED) & ~values.str.contains(ISO_NAIVE))
        .unique()
        .sort()
        .to_list()
    )
    return _undecided(
        f"{column.name!r} has values like {_short(odd)}: not ISO 8601 or epoch numbers"
    )


def value_map(
    relation: SampledRelation,
    column: Column,
    words: Mapping[str, tuple[str, bool]],
    canonical: frozenset[str],
    what: str,
) -> Guess:
    """A value-map field (status, direction, normal balance) from the sampled values.

    ``words`` maps a lower-cased source value to (canonical value, safe); an unsafe word is
    a guess, an unknown value is ``FILL-IN`` in the map (a value left out of a map would be
    a rejected row, so every sampled value is listed).
    """
    seen = relation.distinct(column.name)
    rows = dict(relation.value_sets)
    window = f" in its first {relation.value_rows:,} rows" if column.name in rows else ""
    if len(seen) > MAX_MAP_VALUES:
        return _undecided(
            f"{column.name!r} has over {MAX_MAP_VALUES} distinct values: not a {what} column?"
        )
    if seen and all(value in canonical for value in seen):
        return Guess(
            column.name, Confidence.SURE, f"values{window} are already canonical: {_short(seen)}"
        )
    pairs: list[tuple[str, Value]] = []
    unknown: list[str] = []
    unsafe: list[str] = []
    for value in seen:
        known = words.get(value.strip().lower())
        if known is None:
            unknown.append(value)
            pairs.append((value, FILL_IN))
            continue
        pairs.append((value, known[0]))
        if not known[1]:
            unsafe.append(f"{value}->{known[0]}")
    options = "|".join(sorted(canonical))
    if not pairs:
        return _undecided(f"no sampled {what} values in {column.name!r}: write its map")
    inline = Inline((("column", column.name), ("map", Inline(tuple(pairs)))))
    if unknown:
        return Guess(
            inline,
            Confidence.UNDECIDED,
            f"{what} value(s) {_short(tuple(unknown), 5)}{window} not known: map each to {options}",
        )
    if unsafe:
        return Guess(inline, Confidence.GUESSED, f"read by common usage: {', '.join(unsafe)}")
    return Guess(inline, Confidence.SURE, f"known {what} words{window}: {_short(seen, 6)}")
