"""The Formance adapter on a ``logs/export`` JSON-lines stream (no database)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.checks.runner import audit
from ledger_audit.demo.vendors.formance import write_formance_export
from ledger_audit.errors import InputError
from ledger_audit.findings import RuleId
from ledger_audit.replay.balances import balances_as_of
from ledger_audit.sources import LedgerFrames
from ledger_audit.sources.adapters.formance import check, load
from ledger_audit.sources.adapters.formance.export import memento
from ledger_audit.spec import VerifySpec

from .test_formance import M1, M2


def test_mementos_rebuilt_from_payloads_are_the_golden_bytes() -> None:
    """A payload with extra fields (insertedAt, volumes) gives back exactly what Go hashed."""
    for golden in (M1, M2):
        payload = json.loads(golden)
        payload["transaction"]["insertedAt"] = "2024-01-01T00:00:00Z"
        payload["transaction"]["postCommitVolumes"] = {"world": {"USD/2": {"input": 0}}}
        assert memento("NEW_TRANSACTION", payload) == golden


def _findings(path: Path) -> pl.DataFrame:
    adapted = load(path)
    return audit(
        adapted.frames,
        adapted.report,
        VerifySpec(),
        native=adapted.native,
    ).findings


def test_clean_export_round_trips(demo: LedgerFrames, tmp_path: Path) -> None:
    (path,) = write_formance_export(demo, tmp_path)
    check(path)
    adapted = load(path)

    def posted(frames: LedgerFrames) -> pl.DataFrame:
        return (
            balances_as_of(frames, 2**62, "recorded")
            .select("account_id", "asset_id", "posted_debits", "posted_credits")
            .filter((pl.col("posted_debits") != 0) | (pl.col("posted_credits") != 0))
            .collect()
        )

    assert posted(adapted.frames).equals(posted(demo))
    assert _findings(path).height == 0
    moves = next(n for n in adapted.native if n.result.check == "formance_moves")
    assert RuleId.BALANCE_RUNNING_BROKEN in moves.result.coverage.unproven_rules


def test_an_edited_amount_in_the_stream_breaks_the_chain(
    demo: LedgerFrames, tmp_path: Path
) -> None:
    (path,) = write_formance_export(demo, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[99] = lines[99].replace('"amount":', '"amount":5', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = _findings(path).filter(pl.col("rule").str.starts_with("chain."))
    assert found.select("rule", "locator").rows() == [
        (RuleId.CHAIN_TAMPERED, "logs(ledger=demo, id=100)")
    ]


def test_a_deleted_line_is_a_deleted_log(demo: LedgerFrames, tmp_path: Path) -> None:
    (path,) = write_formance_export(demo, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    del lines[9]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = _findings(path).filter(pl.col("rule").str.starts_with("chain."))
    assert found.select("rule", "locator").rows() == [
        (RuleId.CHAIN_DELETED, "logs(ledger=demo, id=11)")
    ]


def test_a_line_that_is_not_a_log_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "main.jsonl"
    path.write_text('{"type":"NEW_TRANSACTION","id":1,"data":{}}\n{oops\n', encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load(path)
    assert f"{path}:2" in str(caught.value)


def test_a_repeated_line_is_an_inserted_log_and_a_bad_id_is_unchained(
    demo: LedgerFrames, tmp_path: Path
) -> None:
    (path,) = write_formance_export(demo, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(20, lines[19])  # log 20 twice
    lines[40] = lines[40].replace('"id":40,"hash"', '"id":"x","hash"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = _findings(path).filter(pl.col("rule").str.starts_with("chain."))
    rows = set(found.select("rule", "locator").rows())
    assert (RuleId.CHAIN_INSERTED, "logs(ledger=demo, id=20)") in rows
    assert (RuleId.CHAIN_UNCHAINED, "logs(ledger=demo, id=x)") in rows
