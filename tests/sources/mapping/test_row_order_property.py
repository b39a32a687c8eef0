"""Rows in any order read back as the same frames, in key order.

A mapped build that sees its entries or transactions already in key order tells ``conform``
so, and ``conform`` then does not sort them. Property: the frames of a layout whose rows come
in a random order (sometimes sorted, sometimes with repeated keys or bad rows among them)
equal the frames of the same rows written sorted, and every table is in its KEYS order.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ledger_audit.schema.frames import KEYS
from ledger_audit.sources import LedgerFrames, LoadReport, load_ledger

MAPPING = """format = "ledger-audit/mapping/1"

[ledger]
id = "L1"

[assets]
scales = { USD = 2, JPY = 0 }

[accounts]
from = "accounts"
id = "code"
normal_balance = { column = "side", map = { DR = "debit", CR = "credit" } }

[transactions]
from = "journal"
shape = "versioned"
id = "journal_id"
version = "revision"
status = { column = "state", map = { APPLIED = "posted", HOLD = "pending" } }
recorded_at = "created_at"

[entries]
from = "lines"
transaction_id = "journal_id"
version = "revision"
index = "line_no"
account = "account_code"
amount = { column = "amount", units = "major", sign = "debit_positive" }
currency = "currency"
"""

ACCOUNTS = pl.DataFrame({"code": ["bank", "wallet"], "side": ["DR", "CR"]})

line = st.tuples(
    st.integers(0, 4),  # transaction
    st.integers(0, 1),  # revision
    st.integers(0, 2),  # line number
    st.sampled_from(["bank", "wallet"]),
    st.integers(-(10**6), 10**6),  # hundredths
    st.sampled_from(["USD", "JPY", "GBP"]),  # GBP has no scale: a rejected row
)


def _tables(
    lines: list[tuple[int, int, int, str, int, str]], states: list[str]
) -> dict[str, pl.DataFrame]:
    versions = sorted({(t, r) for t, r, *_ in lines})
    journal = pl.DataFrame(
        {
            "journal_id": [f"tx-{t}" for t, _ in versions],
            "revision": [r for _, r in versions],
            "state": [states[i % len(states)] for i in range(len(versions))],
            "created_at": [1_700_000_000 + 60 * i for i in range(len(versions))],
        },
        schema_overrides={"revision": pl.Int64},
    ).with_columns(pl.from_epoch("created_at").dt.replace_time_zone("UTC"))
    frame = pl.DataFrame(
        {
            "journal_id": [f"tx-{t}" for t, *_ in lines],
            "revision": [r for _, r, *_ in lines],
            "line_no": [i for _, _, i, *_ in lines],
            "account_code": [a for *_, a, _, _ in lines],
            "amount": [Decimal(h).scaleb(-2) for *_, h, _ in lines],
            "currency": [c for *_, c in lines],
        },
        schema_overrides={"revision": pl.Int32, "line_no": pl.Int32},
    ).cast({"amount": pl.Decimal(38, 8)})
    return {"accounts": ACCOUNTS, "journal": journal, "lines": frame}


def _load(folder: Path, tables: dict[str, pl.DataFrame]) -> tuple[LedgerFrames, LoadReport]:
    folder.mkdir()
    for name, frame in tables.items():
        frame.write_parquet(folder / f"{name}.parquet")
    (folder / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    return load_ledger(folder, mapping=folder / "mapping.toml")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(line, min_size=2, max_size=12, unique_by=lambda row: row[:3]),
    st.integers(0, 2),  # how many rows repeat an earlier row's key
    st.lists(st.sampled_from(["APPLIED", "HOLD", "LOST"]), min_size=1, max_size=3),
    st.sampled_from(["sorted", "shuffled", "reversed"]),
    st.randoms(use_true_random=False),
)
def test_any_row_order_gives_the_sorted_frames(
    lines: list[tuple[int, int, int, str, int, str]],
    repeats: int,
    states: list[str],
    order: str,
    rng: object,
) -> None:
    tables = _tables(sorted(lines + lines[:repeats]), states)
    moved = dict(tables)
    for name in ("journal", "lines"):
        frame = tables[name]
        if order == "reversed":
            moved[name] = frame.reverse()
        elif order == "shuffled":
            positions = list(range(frame.height))
            rng.shuffle(positions)  # type: ignore[attr-defined]
            moved[name] = frame[positions]
    with TemporaryDirectory() as tmp:
        sorted_frames, sorted_report = _load(Path(tmp) / "sorted", tables)
        frames, report = _load(Path(tmp) / "moved", moved)
    for table, keys in KEYS.items():
        got = frames.table(table)
        assert_frame_equal(got, sorted_frames.table(table))
        assert_frame_equal(got, got.sort(list(keys)))
    assert report.rejected == sorted_report.rejected
