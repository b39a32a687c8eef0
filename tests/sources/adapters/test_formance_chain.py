"""Properties of the Formance chain verifier, on logs built in memory (no database)."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.findings import RuleId
from ledger_audit.sources.adapters.formance.chain import chain_check
from ledger_audit.sources.adapters.formance.hashing import chain_hashes, go_string, log_bodies

_TEXT = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12)


def _logs(notes: list[str], keys: list[str]) -> pl.DataFrame:
    mementos = [
        (
            '{"targetType":"ACCOUNT","targetId":"world","metadata":{"n":'
            + go_string(n).decode()
            + "}}"
        ).encode()
        for n in notes
    ]
    frame = pl.DataFrame(
        {
            "ledger": ["l"] * len(notes),
            "id": [str(i + 1) for i in range(len(notes))],
            "id_int": list(range(1, len(notes) + 1)),
            "type": ["SET_METADATA"] * len(notes),
            "date_text": [f"2025-01-01T00:00:{i % 60:02d}.5" for i in range(len(notes))],
            "memento": mementos,
            "idempotency_key": [k or None for k in keys],
            "schema_version": pl.Series([None] * len(notes), dtype=pl.String),
        },
        schema_overrides={"memento": pl.Binary},
    )
    hashes = chain_hashes(log_bodies(frame))
    return frame.with_columns(pl.Series("hash", hashes, dtype=pl.Binary))


def _chain(logs: pl.DataFrame) -> pl.DataFrame:
    blocks = pl.DataFrame(
        schema={
            "id": pl.Int64,
            "previous": pl.Int64,
            "ledger": pl.String,
            "from_id": pl.Int64,
            "to_id": pl.Int64,
            "hash": pl.Binary,
        }
    )
    return chain_check(logs, blocks, {"l": {"HASH_LOGS": "SYNC"}}).result.findings


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(_TEXT, st.text(alphabet="abc-_", max_size=4)), min_size=1, max_size=12),
    st.data(),
)
def test_a_sealed_chain_verifies_and_one_edit_shows_at_its_log(
    rows: list[tuple[str, str]], data: st.DataObject
) -> None:
    logs = _logs([n for n, _ in rows], [f"k{i}{k}" for i, (_, k) in enumerate(rows)])
    assert _chain(logs).height == 0
    k = data.draw(st.integers(0, logs.height - 1))
    edited = logs.with_columns(
        pl.when(pl.col("id_int") == k + 1)
        .then(pl.col("memento").bin.encode("hex").str.replace("^7b", "7b20").str.decode("hex"))
        .otherwise(pl.col("memento"))
        .alias("memento")
    )
    found = _chain(edited)
    assert found.select("rule", "locator").rows() == [
        (RuleId.CHAIN_TAMPERED, f"logs(ledger=l, id={k + 1})")
    ]


@given(_TEXT)
def test_go_strings_are_json_with_html_escaped(text: str) -> None:
    encoded = go_string(text)
    assert json.loads(encoded) == text
    assert not {b"<", b">", b"&"} & {bytes([c]) for c in encoded}
