"""The compiled payload writer (``chain_json``, numba) gives ``lach1``'s bytes, row for row.

Large ledgers build their payloads with the kernel; these properties force it on small
frames (``JIT_MIN_ROWS`` 0) over the same adversarial text, layouts, chunk sizes, extreme
times and integers as the polars path, and check that the kernel, not the fallback, wrote
them.
"""

from __future__ import annotations

import dataclasses
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger_audit.checks import chain_hashes, chain_json
from ledger_audit.checks.chain_hashes import (
    content_hash_chunks,
    payload_chunks,
    reference_content_hashes,
    reference_payloads,
)
from ledger_audit.schema import lach1
from ledger_audit.schema.frames import WIDE_AMOUNT
from tests.checks.test_chain import INT64, TEXT, vector_chain, versions
from tests.checks.test_chain import _frames as wide_frames
from tests.checks.test_chain_fast_paths import _EDGES, LAYOUT, _frames, laid_out

pytestmark = pytest.mark.skipif(chain_json.kernel() is None, reason="numba is not installed")


@contextmanager
def _compiled_from(rows: int) -> Iterator[None]:
    before = chain_json.JIT_MIN_ROWS
    chain_json.JIT_MIN_ROWS = rows
    try:
        yield
    finally:
        chain_json.JIT_MIN_ROWS = before


def _kernel_writes_every_chunk(transactions: pl.DataFrame, entries: pl.DataFrame) -> None:
    """The kernel (not the polars fallback) wrote each chunk: its text is the reference's."""
    tagged = chain_hashes._row_entries(transactions, entries)
    chunks = chain_hashes._plan(tagged, transactions.height, 3)
    written: list[str | None] = []
    for chunk in chunks:
        text = chain_hashes._compiled(transactions, entries, tagged, chunk, hashed=False)
        assert text is not None
        written.extend(text.to_list())
    assert written == reference_payloads(transactions, entries)


def _equal_reference(transactions: pl.DataFrame, entries: pl.DataFrame, chunk_rows: int) -> None:
    with _compiled_from(0):
        built = list(payload_chunks(transactions, entries, chunk_rows=chunk_rows))
        hashed = list(content_hash_chunks(transactions, entries, chunk_rows=chunk_rows))
    assert sum(chunk.len() for chunk in built) == transactions.height
    text = pl.concat(built).to_list() if built else []
    assert text == reference_payloads(transactions, entries)
    content = pl.concat(hashed).to_list() if hashed else []
    assert content == reference_content_hashes(transactions, entries).to_list()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(versions(wide=False), min_size=1, max_size=8), LAYOUT)
def test_every_layout_and_chunk_size_gives_the_reference_bytes(
    rows: list[lach1.SealedVersion], layout: dict[str, object]
) -> None:
    """Adversarial text (quotes, backslashes, controls, non-ASCII, astral, empty, null)."""
    transactions, entries, chunk_rows = laid_out(rows, layout)
    _equal_reference(transactions, entries, chunk_rows)
    _kernel_writes_every_chunk(transactions, entries)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_EDGES) | INT64, min_size=1, max_size=6), TEXT, INT64)
@example(_EDGES, "", -(2**63))
@example(_EDGES, '\x00\x1f"\\\u2028🙂', 2**63 - 1)
def test_extreme_times_and_integers_give_the_reference_bytes(
    instants: list[int], text: str, amount: int
) -> None:
    """Times over the whole Int64 range (both sides of 1970), amounts to the Int64 ends."""
    base = lach1.SealedVersion(
        text, 2**62, text, 2**31 - 1, text, text, None, text, 0, 0, text, None,
        (lach1.SealedEntry(0, text, text, text, amount), lach1.SealedEntry(7, "", "", "", -1)),
    )  # fmt: skip
    rows = [
        dataclasses.replace(base, seq=n + 1, effective_ns=ns, recorded_ns=instants[-1 - n])
        for n, ns in enumerate(instants)
    ]
    transactions, entries = _frames(rows, sort_versions=True, sort_entries=True)
    _equal_reference(transactions, entries, 2)
    _kernel_writes_every_chunk(transactions, entries)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(versions(wide=True), min_size=1, max_size=6))
def test_wide_amounts_give_the_reference_bytes(rows: list[lach1.SealedVersion]) -> None:
    """Decimal(38, 0) amounts: within Int64 the kernel writes them, beyond it polars does."""
    transactions, entries = wide_frames(rows, wide=True)
    assert entries.schema["amount"] == WIDE_AMOUNT
    _equal_reference(transactions, entries, 3)


def test_amounts_beyond_int64_take_the_polars_path() -> None:
    entry = lach1.SealedEntry(0, "a", "USD/2", "debit", 10**30)
    row = lach1.SealedVersion(
        "L", 1, "tx", 0, "standard", "posted", None, None, 0, 0, None, None, (entry,)
    )
    transactions, entries = wide_frames([row], wide=True)
    tagged = chain_hashes._row_entries(transactions, entries)
    chunk = chain_hashes._plan(tagged, 1, 1)[0]
    assert chain_hashes._compiled(transactions, entries, tagged, chunk, hashed=False) is None
    _equal_reference(transactions, entries, 1)


def test_a_null_sealed_integer_leaves_the_row_without_payload() -> None:
    entry = lach1.SealedEntry(0, "a", "USD/2", "debit", 5)
    rows = [
        lach1.SealedVersion(
            "L", n, f"tx{n}", 0, "standard", "posted", None, None, 0, 0, None, None, (entry,)
        )
        for n in (1, 2, 3)
    ]
    transactions, entries = _frames(rows, sort_versions=True, sort_entries=True)
    transactions = transactions.with_columns(
        recorded_ns=pl.when(pl.col("chain_seq") == 2).then(None).otherwise("recorded_ns")
    )
    entries = entries.with_columns(
        amount=pl.when(pl.col("transaction_id").str.starts_with("tx3"))
        .then(None)
        .otherwise("amount")
    )
    expected = reference_payloads(transactions, entries)
    assert expected[0] is not None
    assert expected[1:] == [None, None]
    _equal_reference(transactions, entries, 250_000)
    _kernel_writes_every_chunk(transactions, entries)


def test_the_design_vectors_through_the_kernel() -> None:
    """DESIGN.md section 4's content hashes, written by the kernel."""
    transactions, entries, _ = vector_chain().frames()
    with _compiled_from(0):
        content = chain_hashes.content_hashes(transactions, entries).to_list()
    assert content == [
        "d44cd7f7516484f50d00bc54e953bea3659bc02563d370938411729b0694c64f",
        "1ff4d6860de56bdb3c0e1f4b3783672a4ac914a1672ffe50357aadd619c8710c",
        "152ff05f6bdddffe0ca23a7a97189af066fad4b86893a9c6e746b0bd6205ac03",
    ]


@pytest.mark.parametrize("compiled", [True, False])
def test_a_caller_chooses_the_kernel_for_a_small_frame(
    compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``compiled=True`` writes three rows with the kernel, ``False`` never: the same hashes.

    The bulk writer asks for it on its batches of 4,000 once it has sealed ``JIT_MIN_ROWS``.
    """
    transactions, entries, _ = vector_chain().frames()
    calls: list[int] = []
    real = chain_json.payloads

    def spy(rows: pl.DataFrame, *args: object, **kwargs: bool) -> pl.Series | None:
        calls.append(rows.height)
        return real(rows, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(chain_json, "payloads", spy)
    content = chain_hashes.content_hashes(transactions, entries, compiled=compiled)
    assert content.to_list() == reference_content_hashes(transactions, entries).to_list()
    assert calls == ([3] if compiled else [])


def test_an_unwritable_cache_folder_gives_a_new_private_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numba's machine code is never read from a shared, guessable folder."""
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    folder, again = chain_json._cache_dir(), chain_json._cache_dir()
    try:
        assert folder.is_dir()
        assert folder.parent == Path(tempfile.gettempdir())
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert again != folder  # never reused
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(again, ignore_errors=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert chain_json._cache_dir() == tmp_path / "cache" / "ledger-audit" / "numba"
