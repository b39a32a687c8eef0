"""Read one mapped field from a relation frame: a value expression and a problem expression.

Every conversion is a polars expression over the whole relation (no Python per row). A value
that cannot be represented exactly yields a problem (a short reason text) for its row, and the
row is rejected by the builder; nothing is rounded or guessed. Amounts stay text or integers
until ``conform`` types them, so a sum of exact decimals never passes through a float.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ledger_audit.sources.mapping.relations import TYPE_SUFFIX
from ledger_audit.sources.mapping.spec import CANONICAL_VALUES, Field

_INTEGER = r"^[+-]?[0-9]+$"
_DECIMAL = r"^[+-]?[0-9]+(\.[0-9]+)?$"
_MAX_DIGITS = 38


_POWERS = pl.Series([*(10**k for k in range(_MAX_DIGITS + 1)), None], dtype=pl.Int128)
"""10^k at index k = 0..38 as Int128, then null: see ``_factor``."""


def _factor(power: pl.Expr, work: type[pl.DataType]) -> pl.Expr:
    """10^|power| per row in ``work`` (null beyond 38, or where ``work`` cannot hold it).

    A gather by index: the powers are few and the table is tiny, so no hash lookup.
    """
    index = power.abs().clip(upper_bound=_MAX_DIGITS + 1)
    return pl.lit(_POWERS).gather(index).cast(work, strict=False)


_EPOCH_FACTOR = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_TRUE_WORDS = ("true", "t", "1", "yes", "y")
_FALSE_WORDS = ("false", "f", "0", "no", "n")


@dataclass(frozen=True, slots=True)
class Read:
    """A field read over a relation: ``value`` per row, and ``problem`` (text or null)."""

    value: pl.Expr
    problem: pl.Expr | None = None


def reason_when(condition: pl.Expr, reason: str) -> pl.Expr:
    """``reason`` where ``condition`` holds, else null: one problem."""
    return pl.when(condition).then(pl.lit(reason, dtype=pl.String))


def _first(applies: pl.Expr, *rules: tuple[pl.Expr, str]) -> pl.Expr:
    """The reason of the first rule that holds, where ``applies``; else null."""
    return pl.when(applies).then(pl.coalesce(*(reason_when(c, reason) for c, reason in rules)))


_FEW_KEYS = 8
"""Up to this many keys, comparing each row with each key beats hashing it."""


def lookup(
    key: pl.Expr,
    keys: pl.Series,
    values: pl.Series,
    dtype: pl.DataType,
    default: pl.Expr | None = None,
) -> pl.Expr:
    """``values`` at the position of each row's ``key`` in ``keys`` (else ``default`` or null).

    ``keys`` are unique. Currencies and status words are a handful: a few comparisons per
    row cost several times less than a hash lookup (``replace_strict``), which serves more.
    """
    otherwise = pl.lit(None, dtype=dtype) if default is None else default
    if keys.len() > _FEW_KEYS:
        return key.replace_strict(keys, values, default=otherwise, return_dtype=dtype)
    found = otherwise
    for k, v in reversed(list(zip(keys.to_list(), values.to_list(), strict=True))):
        found = pl.when(key == pl.lit(k, keys.dtype)).then(pl.lit(v, dtype)).otherwise(found)
    return found


def problems(*reads: Read | None) -> list[pl.Expr]:
    """The problem expressions of ``reads`` that can fail."""
    return [r.problem for r in reads if r is not None and r.problem is not None]


def _float_tag(field: Field, dtypes: dict[str, pl.DataType]) -> pl.Expr | None:
    """SQLite only: true where the stored value is REAL (a float), whatever the column says."""
    tag = f"{field.column}{TYPE_SUFFIX}"
    return (pl.col(tag) == "real") if tag in dtypes else None


def text(field: Field | None, dtypes: dict[str, pl.DataType]) -> Read:
    """Text, ids and keys: numbers become base-10 text; null stays null."""
    if field is None:
        return Read(pl.lit(None, dtype=pl.String))
    if field.column is None:
        return Read(pl.lit(None if field.value is None else str(field.value), dtype=pl.String))
    dtype = dtypes[field.column]
    x = pl.col(field.column)
    if dtype == pl.String():
        return Read(x)
    if dtype.is_float():
        return Read(
            pl.lit(None, dtype=pl.String),
            reason_when(x.is_not_null(), f"{field.key}: a float is not an identifier"),
        )
    return Read(x.cast(pl.String))


def enum(field: Field, dtypes: dict[str, pl.DataType], *, on: pl.Expr | None = None) -> Read:
    """A value map onto canonical words; prefixes read the account id given in ``on``."""
    if field.column is None and not field.prefixes:
        return Read(pl.lit(field.value, dtype=pl.String))
    if field.prefixes:
        if on is None:  # pragma: no cover - the builder always passes the account id
            raise ValueError("prefixes need the account id")
        value: pl.Expr = pl.lit(field.default, dtype=pl.String)
        for prefix, target in reversed(field.prefixes):
            value = pl.when(on.str.starts_with(prefix)).then(pl.lit(target)).otherwise(value)
        problem = reason_when(
            on.is_not_null() & value.is_null(),
            f"{field.key}: no prefix matches the account id",
        )
        return Read(value, problem)
    source = text(field, dtypes).value
    allowed = sorted(CANONICAL_VALUES[field.key.rsplit(".", 1)[1]])
    if field.value_map:
        # The map's targets and default were checked against the canonical words when the
        # file was read: a value is canonical exactly when the map (or default) gives one.
        value = lookup(
            source,
            pl.Series([k for k, _ in field.value_map], dtype=pl.String),
            pl.Series([v for _, v in field.value_map], dtype=pl.String),
            pl.String(),
            default=pl.lit(field.default, dtype=pl.String),
        )
        known = ", ".join(k for k, _ in field.value_map)
    else:
        value = pl.when(source.is_in(allowed)).then(source)
        known = "the canonical words"
    problem = reason_when(
        source.is_not_null() & value.is_null(),
        f"{field.key}: value not in the map ({known})",
    )
    return Read(value, problem)


def integer(field: Field | None, dtypes: dict[str, pl.DataType]) -> Read:
    """Integers only: text must be ``[+-]digits``; a float or a fraction is a problem."""
    if field is None:
        return Read(pl.lit(None, dtype=pl.Int64))
    if field.column is None:
        return Read(pl.lit(field.value, dtype=pl.Int64))
    dtype = dtypes[field.column]
    x = pl.col(field.column)
    if dtype.is_integer():
        value = x.cast(pl.Int64, strict=False)
        return Read(
            value, reason_when(x.is_not_null() & value.is_null(), f"{field.key}: out of range")
        )
    s = x.cast(pl.String, strict=False) if dtype != pl.String() else x
    ok = s.str.contains(_INTEGER)
    value = pl.when(ok).then(s.cast(pl.Int64, strict=False))
    problem = _first(
        s.is_not_null(),
        (~ok, f"{field.key}: not an integer"),
        (value.is_null(), f"{field.key}: out of range"),
    )
    return Read(value, problem)


def boolean(field: Field | None, dtypes: dict[str, pl.DataType], default: bool) -> Read:
    """true/false, t/f, 1/0, yes/no in any case."""
    if field is None:
        return Read(pl.lit(default, dtype=pl.Boolean))
    if field.column is None:
        return Read(pl.lit(field.value, dtype=pl.Boolean))
    dtype = dtypes[field.column]
    x = pl.col(field.column)
    if dtype == pl.Boolean():
        return Read(x)
    words = x.cast(pl.String, strict=False).str.to_lowercase()
    value = (
        pl.when(words.is_in(_TRUE_WORDS))
        .then(pl.lit(value=True))
        .when(words.is_in(_FALSE_WORDS))
        .then(pl.lit(value=False))
    )
    return Read(
        value, reason_when(x.is_not_null() & value.is_null(), f"{field.key}: not a boolean")
    )


@dataclass(frozen=True, slots=True)
class AmountRead:
    """An amount: magnitude in minor units (an integer), sign, problem, and staged helpers.

    ``stages`` are columns to add, stage by stage, before ``magnitude``, ``negative`` and
    ``problem`` are evaluated: polars does not share the parts of one expression, so the
    text is parsed once into helper columns that the three read.
    """

    magnitude: pl.Expr
    negative: pl.Expr
    problem: pl.Expr | None
    stages: tuple[tuple[pl.Expr, ...], ...] = ()


_INT64_MAX = 2**63 - 1
NARROW_DIGITS = 18
"""An amount of at most this many digits, scale included, is computed in Int64 (faster)."""


def amount(
    field: Field, dtypes: dict[str, pl.DataType], scale: pl.Expr, *, narrow: bool = False
) -> AmountRead:
    """Minor units, or exact major-unit decimals times 10^scale (never rounded).

    ``scale`` is the row's asset scale (Int). Integer minor units stay integers; anything
    else is parsed from its text with integer arithmetic on the digits (Int128 holds 38):
    the text's value is digits / 10^fraction_digits, so in minor units it is digits *
    10^(scale - fraction_digits), exact only where a division leaves no remainder.
    ``narrow``: the caller has seen that every value and scale fit NARROW_DIGITS digits, so
    Int64 does (any wider value is still refused, never wrapped: see ``wide``).
    """
    work = pl.Int64 if narrow else pl.Int128
    limit = NARROW_DIGITS if narrow else _MAX_DIGITS
    if field.column is None:
        raise ValueError(f"{field.key}: an amount must come from a column")
    dtype = dtypes[field.column]
    x = pl.col(field.column)
    float_tag = _float_tag(field, dtypes)
    if dtype.is_integer() and field.units == "minor":
        return AmountRead(x.abs(), x < 0, None)
    if isinstance(dtype, pl.Decimal):
        return _decimal_amount(field, dtype, scale, narrow=narrow)
    is_float = dtype.is_float()
    tag = "__" + field.key.replace(".", "_")

    def col(name: str) -> pl.Expr:
        return pl.col(f"{tag}_{name}")

    text = x if dtype == pl.String() else x.cast(pl.String, strict=False)
    places = scale.cast(pl.Int64) if field.units == "major" else pl.lit(0, pl.Int64)
    first = (text.str.strip_chars().alias(f"{tag}_s"), places.alias(f"{tag}_places"))
    s = col("s")
    pattern = _DECIMAL if field.units == "major" or is_float or field.allow_float else _INTEGER
    second = (
        s.str.contains(pattern).alias(f"{tag}_syntax"),
        s.str.replace(".", "", literal=True).cast(work, strict=False).alias(f"{tag}_signed"),
        s.str.find(".", literal=True).cast(pl.Int64).alias(f"{tag}_dot"),
        s.str.len_bytes().cast(pl.Int64).alias(f"{tag}_length"),
        s.str.contains(r"^[+-]").cast(pl.Int64).alias(f"{tag}_sign"),
    )
    dot, length = col("dot"), col("length")
    fraction_digits = pl.when(dot.is_null()).then(0).otherwise(length - dot - 1)
    power = col("places") - fraction_digits
    third = (
        power.alias(f"{tag}_power"),
        col("signed").abs().alias(f"{tag}_abs"),
        ((pl.coalesce(dot, length) - col("sign") + col("places")) > limit).alias(f"{tag}_wide"),
    )
    fourth = (_factor(col("power"), work).alias(f"{tag}_factor"),)
    fifth = (((col("power") >= 0) | ((col("abs") % col("factor")) == 0)).alias(f"{tag}_exact"),)
    syntax, wide, exact = col("syntax"), col("wide"), col("exact")
    magnitude = pl.when(syntax & exact & ~wide).then(
        pl.when(col("power") >= 0)
        .then(col("abs") * col("factor"))
        .otherwise(col("abs") // col("factor"))
    )
    word = "decimal" if field.units == "major" else "whole"
    rules: list[tuple[pl.Expr, str]] = []
    if float_tag is not None and not field.allow_float:
        rules.append(
            (float_tag, f"{field.key}: stored as a float (SQLite REAL); set allow_float = true")
        )
    rules += [
        (~syntax, f"{field.key}: not a {word} number"),
        (~exact, f"{field.key}: more decimals than the currency's scale (never rounded)"),
        (wide, f"{field.key}: more than {_MAX_DIGITS} digits"),
        (col("places").is_null(), f"{field.key}: no scale for it"),
    ]
    problem = _first(x.is_not_null(), *rules)
    return AmountRead(magnitude, col("signed") < 0, problem, (first, second, third, fourth, fifth))


def _decimal_amount(
    field: Field, dtype: pl.Decimal, scale: pl.Expr, *, narrow: bool = False
) -> AmountRead:
    """A DECIMAL column (Parquet, Arrow): its unscaled integer, moved to the asset's scale.

    The physical value of Decimal(p, s) is the integer value * 10^s; in minor units at scale
    k that is the integer * 10^(k - s), exact only where a division leaves no remainder. No
    text is involved. ``narrow``: the caller has seen (``decimal_fits_int64``) that every
    unscaled value, every factor and every product fit Int64, so the same arithmetic runs
    there and no product can reach 38 digits.
    """
    x = pl.col(str(field.column))
    tag = "__" + field.key.replace(".", "_")
    work = pl.Int64 if narrow else pl.Int128

    def col(name: str) -> pl.Expr:
        return pl.col(f"{tag}_{name}")

    column_scale = dtype.scale or 0
    places = scale.cast(pl.Int64) if field.units == "major" else pl.lit(0, pl.Int64)
    first = (
        x.to_physical().cast(work).alias(f"{tag}_signed"),
        (places - column_scale).alias(f"{tag}_power"),
    )
    second = (
        col("signed").abs().alias(f"{tag}_abs"),
        _factor(col("power"), work).alias(f"{tag}_factor"),
    )
    exact = (col("power") >= 0) | ((col("abs") % col("factor")) == 0)
    rules = [(~exact, f"{field.key}: more decimals than the currency's scale (never rounded)")]
    valid = exact
    if not narrow:
        # Room left under 38 digits for a multiplication: abs * 10^power < 10^38.
        room = (col("power") <= 0) | (
            col("abs") < pl.lit(10**_MAX_DIGITS, pl.Int128) // col("factor")
        )
        rules.append((~room, f"{field.key}: more than {_MAX_DIGITS} digits"))
        valid = exact & room
    magnitude = pl.when(valid).then(
        pl.when(col("power") >= 0)
        .then(col("abs") * col("factor"))
        .otherwise(col("abs") // col("factor"))
    )
    problem = _first(x.is_not_null(), *rules, (places.is_null(), f"{field.key}: no scale for it"))
    return AmountRead(magnitude, col("signed") < 0, problem, (first, second))


def decimal_fits_int64(
    dtype: pl.Decimal, units: str, bounds: tuple[int | None, int | None], places: Sequence[int]
) -> bool:
    """True when a DECIMAL column's arithmetic (``_decimal_amount``) cannot leave Int64.

    ``bounds`` are the column's smallest and largest unscaled integers (None: no value);
    ``places`` the scales a row may be moved to. Every unscaled value, every factor 10^|k - s|
    and every product must fit; then the Int64 result equals the Int128 one.
    """
    low, high = bounds
    if low is None or high is None:
        return True
    largest = max(-low, high)
    column_scale = dtype.scale or 0
    powers = [p - column_scale for p in (places if units == "major" else (0,))]
    if not powers or largest > _INT64_MAX:
        return False
    if any(abs(p) > NARROW_DIGITS for p in powers):
        return False
    factor: int = 10 ** max(0, *powers)
    return largest * factor <= _INT64_MAX


def time(field: Field | None, dtypes: dict[str, pl.DataType], zone: str | None) -> Read:
    """UTC epoch nanoseconds from timestamptz, zoned naive times, ISO text or epoch integers."""
    if field is None:
        return Read(pl.lit(None, dtype=pl.Int64))
    if field.column is None:
        raise ValueError(f"{field.key}: a time must come from a column")
    dtype = dtypes[field.column]
    x = pl.col(field.column)
    zone = field.timezone or zone
    if isinstance(dtype, pl.Datetime):
        aware = x if dtype.time_zone is not None else _zoned(x, zone)
        value = aware.dt.epoch("ns") if aware is not None else pl.lit(None, dtype=pl.Int64)
        return Read(value, _naive_problem(field, x, value, zone))
    if dtype == pl.Date():
        local = _zoned(x.cast(pl.Datetime("ns")), zone)
        value = local.dt.epoch("ns") if local is not None else pl.lit(None, dtype=pl.Int64)
        return Read(value, _naive_problem(field, x, value, zone))
    if field.epoch is not None:
        number = integer(field, dtypes)
        factor = _EPOCH_FACTOR[field.epoch]
        wide = number.value.cast(pl.Int128) * factor
        fits = wide.is_between(-(2**63), 2**63 - 1)
        value = pl.when(fits).then(wide.cast(pl.Int64, strict=False))
        problem = pl.coalesce(
            number.problem if number.problem is not None else pl.lit(None, dtype=pl.String),
            reason_when(number.value.is_not_null() & ~fits, f"{field.key}: epoch beyond year 2262"),
        )
        return Read(value, problem)
    s = (x if dtype == pl.String() else x.cast(pl.String, strict=False)).str.strip_chars()
    iso = s.str.replace(r"^(\d{4}-\d{2}-\d{2})[ tT]", "${1}T").str.replace(r"[zZ]$", "+00:00")
    aware = iso.str.strptime(pl.Datetime("ns", "UTC"), "%Y-%m-%dT%H:%M:%S%.f%z", strict=False)
    naive = pl.coalesce(
        iso.str.strptime(pl.Datetime("ns"), "%Y-%m-%dT%H:%M:%S%.f", strict=False),
        iso.str.strptime(pl.Date(), "%Y-%m-%d", strict=False).cast(pl.Datetime("ns")),
    )
    local = _zoned(naive, zone)
    value = pl.coalesce(aware.dt.epoch("ns"), None if local is None else local.dt.epoch("ns"))
    problem = pl.when(s.is_null() | value.is_not_null()).then(None)
    if local is None:
        problem = problem.when(naive.is_not_null()).then(
            pl.lit(f"{field.key}: a time without zone; set [ledger] timezone")
        )
    problem = problem.otherwise(pl.lit(f"{field.key}: not an ISO 8601 time"))
    return Read(value, problem)


def _zoned(naive: pl.Expr, zone: str | None) -> pl.Expr | None:
    if zone is None:
        return None
    return naive.dt.replace_time_zone(zone, ambiguous="null", non_existent="null")


def _naive_problem(field: Field, x: pl.Expr, value: pl.Expr, zone: str | None) -> pl.Expr:
    if zone is None:
        reason = f"{field.key}: a time without zone; set [ledger] timezone"
    else:
        reason = f"{field.key}: ambiguous or non-existent local time in {zone}"
    return reason_when(x.is_not_null() & value.is_null(), reason)
