r"""The LACH-1 canonical payload written byte by byte from Arrow buffers (numba, no GIL).

Imported only through ``chain_json`` (which points numba's cache at the user's cache folder
first). The bytes are ``lach1.canonical_json(lach1.payload(row))``: compact JSON, keys
sorted, JCS escaping (``"``, ``\``, control characters; non-ASCII raw), times as
``YYYY-MM-DDTHH:MM:SS.fffffffffZ``. Tests hold it byte-equal to ``lach1``.
"""

# ruff: noqa: PLR2004 - ASCII codes and calendar constants are this kernel's vocabulary

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F = TypeVar("F", bound=Callable[..., Any])
Bytes = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]
Flags = npt.NDArray[np.bool_]

_jit = cast("Callable[[F], F]", numba.njit(cache=True, nogil=True, boundscheck=False))
_inline = cast(
    "Callable[[F], F]", numba.njit(cache=True, nogil=True, boundscheck=False, inline="always")
)

# Row text columns, in the order the kernel reads them (``ROW_TEXT``) and literals (``LITERALS``).
ROW_TEXT = (
    "external_id",
    "idempotency_key",
    "kind",
    "ledger_id",
    "pending_transaction_id",
    "reverses_transaction_id",
    "status",
    "transaction_id",
)
ENTRY_TEXT = ("account_id", "asset_id", "direction")
LITERALS = (
    '{"effective_at":"',  # 0
    '","entries":[',  # 1
    '],"external_id":',  # 2
    ',"idempotency_key":',  # 3
    ',"kind":',  # 4
    ',"ledger_id":',  # 5
    ',"pending_transaction_id":',  # 6
    ',"recorded_at":"',  # 7
    '","reverses_transaction_id":',  # 8
    ',"seq":"',  # 9
    '","status":',  # 10
    ',"transaction_id":',  # 11
    ',"version":"',  # 12
    '"}',  # 13
    '{"account_id":',  # 14
    ',"amount":"',  # 15
    '","asset_id":',  # 16
    ',"direction":',  # 17
    ',"i":"',  # 18
    "null",  # 19
)
_LITS = np.frombuffer("".join(LITERALS).encode(), dtype=np.uint8)
_LOFF = tuple(int(x) for x in np.cumsum([0, *(len(x.encode()) for x in LITERALS)]))
ROW_BYTES = sum(len(x) for x in LITERALS[:14]) + 2 * 30 + 3 * 21 + 8 * 4
"""Bytes of one payload besides its texts' escaped bytes and its entries (an upper bound)."""
ENTRY_BYTES = sum(len(x) for x in LITERALS[13:19]) + 1 + 2 * 21 + 3 * 4
"""Bytes of one entry object besides its texts' escaped bytes (an upper bound)."""
ESCAPE_GROWTH = 6
r"""A text byte takes at most six bytes once escaped (``\u001f``)."""

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_SHORT = np.zeros(32, dtype=np.uint8)  # control bytes with a two-byte escape
for _c, _e in ((8, "b"), (9, "t"), (10, "n"), (12, "f"), (13, "r")):
    _SHORT[_c] = ord(_e)


@_inline
def _put(out: Bytes, pos: int, src: Bytes, lo: int, hi: int) -> int:
    for k in range(lo, hi):
        out[pos] = src[k]
        pos += 1
    return pos


@_inline
def _text(  # noqa: PLR0917 - inlined by numba
    out: Bytes, pos: int, data: Bytes, offsets: Ints, valid: Flags, c: int, row: int
) -> int:
    """A JSON string token (``"..."`` escaped) or ``null``: column c, row ``row``."""
    if not valid[c, row]:
        return _put(out, pos, _LITS, _LOFF[19], _LOFF[20])
    out[pos] = 34
    pos += 1
    for k in range(offsets[c, row], offsets[c, row + 1]):
        b = data[k]
        if b == 34 or b == 92:  # noqa: PLR1714 - numba compiles the plain comparisons
            out[pos] = 92
            out[pos + 1] = b
            pos += 2
        elif b < 32:
            short = _SHORT[b]
            out[pos] = 92
            if short != 0:
                out[pos + 1] = short
                pos += 2
            else:
                out[pos + 1] = 117  # \u00XX
                out[pos + 2] = 48
                out[pos + 3] = 48
                out[pos + 4] = _HEX[b >> 4]
                out[pos + 5] = _HEX[b & 15]
                pos += 6
        else:
            out[pos] = b
            pos += 1
    out[pos] = 34
    return pos + 1


@_inline
def _int(out: Bytes, pos: int, value: int) -> int:
    """Base-10 digits of an Int64 (the minimum included)."""
    if value < 0:
        out[pos] = 45
        pos += 1
        magnitude = np.uint64(-(value + 1)) + np.uint64(1)
    else:
        magnitude = np.uint64(value)
    digits = 1
    probe = magnitude
    while probe >= np.uint64(10):
        probe //= np.uint64(10)
        digits += 1
    end = pos + digits
    for k in range(end - 1, pos - 1, -1):
        out[k] = 48 + np.uint8(magnitude % np.uint64(10))
        magnitude //= np.uint64(10)
    return end


@_inline
def _digits(out: Bytes, pos: int, value: int, width: int) -> int:
    """``value`` (0 <= value < 10**width) as ``width`` digits, zero-padded."""
    rest = np.uint64(value)  # unsigned: no sign fix-ups in the divisions
    for k in range(pos + width - 1, pos - 1, -1):
        out[k] = np.uint8(48) + np.uint8(rest % np.uint64(10))
        rest //= np.uint64(10)
    return pos + width


@_inline
def _time(out: Bytes, pos: int, ns: int) -> int:
    """``YYYY-MM-DDTHH:MM:SS.fffffffffZ`` (UTC; floor division: before 1970 too)."""
    seconds = ns // 1_000_000_000
    fraction = ns - seconds * 1_000_000_000
    days = seconds // 86_400
    clock = seconds - days * 86_400
    # civil date from days since 1970-01-01 (proleptic Gregorian, 400-year eras)
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    pos = _digits(out, pos, year, 4)
    out[pos] = 45
    pos = _digits(out, pos + 1, month, 2)
    out[pos] = 45
    pos = _digits(out, pos + 1, day, 2)
    out[pos] = 84
    pos = _digits(out, pos + 1, clock // 3_600, 2)
    out[pos] = 58
    pos = _digits(out, pos + 1, (clock // 60) % 60, 2)
    out[pos] = 58
    pos = _digits(out, pos + 1, clock % 60, 2)
    out[pos] = 46
    pos = _digits(out, pos + 1, fraction, 9)
    out[pos] = 90
    return pos + 1


@_jit
def write_payloads(  # noqa: PLR0917 - the kernel's inputs are Arrow buffers, one per argument
    text_data: Bytes,
    text_offsets: Ints,
    text_valid: Flags,
    numbers: Ints,
    numbers_valid: Flags,
    leg_data: Bytes,
    leg_offsets: Ints,
    leg_valid: Flags,
    leg_numbers: Ints,
    leg_numbers_valid: Flags,
    row_legs: Ints,
    out: Bytes,
    out_offsets: Ints,
    out_valid: Flags,
) -> int:
    """Write every row's payload into ``out``; returns the bytes written.

    Inputs (n rows, m entries, entries of row r at ``row_legs[r]:row_legs[r + 1]``):
    ``text_offsets[c]``/``text_valid[c]`` column c of ``ROW_TEXT`` (int64 offsets into
    ``text_data``, which holds every column's bytes, and validity);
    ``numbers[0..3]`` chain_seq, version, effective_ns, recorded_ns (Int64);
    ``leg_offsets[c]``/``leg_valid[c]`` column c of ``ENTRY_TEXT`` (into ``leg_data``);
    ``leg_numbers[0..1]`` entry_index, amount.
    A row with a null number (its own or an entry's) gets no payload: ``out_valid`` False.
    """
    n = out_valid.shape[0]
    pos = 0
    out_offsets[0] = 0
    for r in range(n):
        start = pos
        ok = numbers_valid[0, r] and numbers_valid[1, r]
        ok = ok and numbers_valid[2, r] and numbers_valid[3, r]
        for e in range(row_legs[r], row_legs[r + 1]):
            ok = ok and leg_numbers_valid[0, e] and leg_numbers_valid[1, e]
        out_valid[r] = ok
        if ok:
            pos = _put(out, pos, _LITS, _LOFF[0], _LOFF[1])
            pos = _time(out, pos, numbers[2, r])
            pos = _put(out, pos, _LITS, _LOFF[1], _LOFF[2])
            for e in range(row_legs[r], row_legs[r + 1]):
                if e > row_legs[r]:
                    out[pos] = 44
                    pos += 1
                pos = _put(out, pos, _LITS, _LOFF[14], _LOFF[15])
                pos = _text(out, pos, leg_data, leg_offsets, leg_valid, 0, e)
                pos = _put(out, pos, _LITS, _LOFF[15], _LOFF[16])
                pos = _int(out, pos, leg_numbers[1, e])
                pos = _put(out, pos, _LITS, _LOFF[16], _LOFF[17])
                pos = _text(out, pos, leg_data, leg_offsets, leg_valid, 1, e)
                pos = _put(out, pos, _LITS, _LOFF[17], _LOFF[18])
                pos = _text(out, pos, leg_data, leg_offsets, leg_valid, 2, e)
                pos = _put(out, pos, _LITS, _LOFF[18], _LOFF[19])
                pos = _int(out, pos, leg_numbers[0, e])
                pos = _put(out, pos, _LITS, _LOFF[13], _LOFF[14])
            for c in range(6):  # external_id .. reverses_transaction_id, with recorded_at
                pos = _put(out, pos, _LITS, _LOFF[2 + c], _LOFF[3 + c])
                if c == 5:
                    pos = _time(out, pos, numbers[3, r])
                    pos = _put(out, pos, _LITS, _LOFF[8], _LOFF[9])
                pos = _text(out, pos, text_data, text_offsets, text_valid, c, r)
            pos = _put(out, pos, _LITS, _LOFF[9], _LOFF[10])
            pos = _int(out, pos, numbers[0, r])
            pos = _put(out, pos, _LITS, _LOFF[10], _LOFF[11])
            pos = _text(out, pos, text_data, text_offsets, text_valid, 6, r)
            pos = _put(out, pos, _LITS, _LOFF[11], _LOFF[12])
            pos = _text(out, pos, text_data, text_offsets, text_valid, 7, r)
            pos = _put(out, pos, _LITS, _LOFF[12], _LOFF[13])
            pos = _int(out, pos, numbers[1, r])
            pos = _put(out, pos, _LITS, _LOFF[13], _LOFF[14])
        out_offsets[r + 1] = pos if ok else start
    return pos
