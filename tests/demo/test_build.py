"""The demo build: determinism, a clean month, an independent re-hash, the files it writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger_audit.demo.build import build_demo
from ledger_audit.demo.summary import DemoSummary, render_text
from ledger_audit.errors import InputError
from tests.demo.conftest import (
    SMALL_N,
    DemoFactory,
    balance_differences,
    connect,
    content_of,
    genesis,
    link,
    rehash,
    rows_digest,
)


def test_same_seed_gives_identical_rows_and_answer_key(demo_factory: DemoFactory) -> None:
    first, second = demo_factory(), demo_factory(copy=1)
    assert first.out_dir != second.out_dir
    assert rows_digest(first.ledger_path) == rows_digest(second.ledger_path)
    assert first.answer_key_path.read_bytes() == second.answer_key_path.read_bytes()
    assert first.demo_json_path.read_bytes() == second.demo_json_path.read_bytes()


def test_another_seed_gives_another_ledger(demo_factory: DemoFactory) -> None:
    seven, eight = demo_factory(), demo_factory(seed=8)
    assert rows_digest(seven.ledger_path) != rows_digest(eight.ledger_path)
    assert seven.answer_key_path.read_bytes() != eight.answer_key_path.read_bytes()


def test_clean_demo_has_no_rejections_and_an_empty_key(clean_demo: DemoSummary) -> None:
    assert clean_demo.writer_rejections == 0
    assert clean_demo.planted == ()
    assert clean_demo.answer_key_path.read_text(encoding="utf-8") == "[]\n"
    assert clean_demo.client_retries > 0
    assert clean_demo.replays == clean_demo.client_retries
    assert clean_demo.transactions == SMALL_N


def test_month_holds_exactly_n_top_level_transactions(clean_demo: DemoSummary) -> None:
    with connect(clean_demo.ledger_path) as conn:
        (in_month,) = conn.execute(
            "SELECT COUNT(*) FROM transactions WHERE version = 0 AND kind != 'opening'"
        ).fetchone()
        (openings,) = conn.execute(
            "SELECT COUNT(*) FROM transactions WHERE kind = 'opening'"
        ).fetchone()
    assert in_month == SMALL_N
    assert openings == dict(clean_demo.events)["opening"]


def test_clean_demo_rehashes_exactly(clean_demo: DemoSummary) -> None:
    report = rehash(clean_demo.ledger_path)
    assert report.rows == clean_demo.ledger.versions
    assert report.clean, report


def test_clean_demo_cache_matches_the_log(clean_demo: DemoSummary) -> None:
    assert balance_differences(clean_demo.ledger_path) == {}


def test_independent_hash_matches_the_design_vector() -> None:
    """DESIGN.md section 4, seq 1: the test's own LACH-1 is the specified one."""
    row: dict[str, object] = {
        "ledger_id": "demo",
        "chain_seq": 1,
        "transaction_id": "tx-0001",
        "version": 0,
        "kind": "standard",
        "status": "posted",
        "pending_transaction_id": None,
        "reverses_transaction_id": None,
        "effective_ns": 1_738_324_800_000_000_000,
        "recorded_ns": 1_738_324_800_000_000_000,
        "idempotency_key": "ik-1",
        "external_id": None,
    }
    legs = [
        (0, "assets:bank", "USD/2", "debit", 10000),
        (1, "liabilities:wallet:alice", "USD/2", "credit", 10000),
    ]
    content = content_of(row, legs)
    assert genesis("demo") == "6253ef4548c1c89753952f65f1a00979d66e6c5335adc87c503dc1d397dd7dc1"
    assert content == "d44cd7f7516484f50d00bc54e953bea3659bc02563d370938411729b0694c64f"
    assert link(genesis("demo"), content) == (
        "e7a8da8062ab3f23a8f3419f1ed05555dccaef123d5d6b582e3b1d5975caab96"
    )


def test_demo_json_records_parameters_counts_and_head(planted_demo: DemoSummary) -> None:
    data = json.loads(planted_demo.demo_json_path.read_text(encoding="utf-8"))
    assert data["parameters"] == {
        "seed": 7,
        "transactions": SMALL_N,
        "month": "2025-01",
        "clean": False,
    }
    assert data["chain_head"] == {
        "seq": planted_demo.ledger.chain_seq,
        "hash": planted_demo.ledger.chain_head_hash,
    }
    assert data["planted"]["count"] == len(planted_demo.planted) == 10
    assert data["writer"]["rejections"] == 0
    text = planted_demo.demo_json_path.read_text(encoding="utf-8")
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_summary_volumes_are_exact_and_formatted(clean_demo: DemoSummary) -> None:
    with connect(clean_demo.ledger_path) as conn:
        volumes = dict(
            conn.execute(
                "SELECT e.asset_id, SUM(e.amount) FROM entries e JOIN transactions t "
                "ON t.ledger_id = e.ledger_id AND t.transaction_id = e.transaction_id "
                "AND t.version = e.version WHERE t.status = 'posted' AND e.direction = 'debit' "
                "GROUP BY e.asset_id"
            ).fetchall()
        )
    assert {a.asset_id: a.posted_volume for a in clean_demo.ledger.assets} == volumes
    usd = next(a for a in clean_demo.ledger.assets if a.asset_id == "USD/2")
    whole, cents = divmod(usd.posted_volume, 100)
    assert usd.posted_volume_text == f"{whole}.{cents:02d} USD"
    text = render_text(clean_demo)
    assert usd.posted_volume_text in text
    assert f"seq {clean_demo.ledger.chain_seq}" in text


def test_rebuilding_in_the_same_directory_replaces_the_demo(tmp_path: Path) -> None:
    first = build_demo(tmp_path, transactions=200, clean=True)
    digest = rows_digest(first.ledger_path)
    second = build_demo(tmp_path, transactions=200, clean=True)
    assert rows_digest(second.ledger_path) == digest
    assert not (tmp_path / "ledger.sqlite-wal").exists()


def test_another_month(tmp_path: Path) -> None:
    summary = build_demo(tmp_path, transactions=200, clean=True, month="2024-02")
    with connect(summary.ledger_path) as conn:
        low, high = conn.execute(
            "SELECT MIN(recorded_ns), MAX(recorded_ns) FROM transactions WHERE kind != 'opening'"
        ).fetchone()
    feb_1, mar_1 = 1_706_745_600 * 10**9, 1_709_251_200 * 10**9
    assert feb_1 <= low < high < mar_1
    assert summary.writer_rejections == 0


@pytest.mark.parametrize(
    ("kwargs", "locator"),
    [
        ({"month": "2025-13"}, "month"),
        ({"month": "January"}, "month"),
        ({"transactions": 99}, "transactions"),
        ({"transactions": 0}, "transactions"),
    ],
)
def test_bad_parameters_are_input_errors(
    tmp_path: Path, kwargs: dict[str, object], locator: str
) -> None:
    with pytest.raises(InputError) as caught:
        build_demo(tmp_path, **kwargs)  # type: ignore[arg-type]
    assert locator in caught.value.locator
    assert not (tmp_path / "ledger.sqlite").exists()
