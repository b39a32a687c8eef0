"""The adapter framework: names, layout errors, the LACH-1 seal of what an adapter read."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.cli import build_parser
from ledger_audit.errors import InputError
from ledger_audit.findings import CheckResult, RuleId
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.sources import load_ledger
from ledger_audit.sources.adapters import adapter_named, adapter_names
from ledger_audit.sources.adapters.adapted import Adapted
from ledger_audit.sources.adapters.layout import require_layout
from ledger_audit.sources.adapters.seal import CHECK, seal_check, seal_name
from ledger_audit.sources.adapters.starter import propose
from ledger_audit.sources.ledger_frames import (
    LedgerFrames,
    LoadReport,
    TableCount,
    empty_rejections,
)
from ledger_audit.sources.mapping import open_relations
from ledger_audit.sources.reading import read_ledger
from tests.conftest import DemoFactory


@pytest.fixture(scope="module")
def demo_frames(demo_factory: DemoFactory) -> LedgerFrames:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    return frames


def test_an_unknown_adapter_lists_the_known_ones() -> None:
    with pytest.raises(InputError) as raised:
        adapter_named("formence")
    assert "unknown adapter 'formence'" in str(raised.value)
    assert f"known adapters: {', '.join(adapter_names()) or 'none'}" in str(raised.value)


def test_the_cli_help_names_exactly_the_registered_adapters() -> None:
    parser = build_parser()
    helps = {
        name: action.help
        for sub in parser._subparsers._group_actions  # type: ignore[union-attr]
        for name, command in sub.choices.items()  # type: ignore[union-attr]
        for action in command._actions
        if action.dest == "adapter" and action.help
    }
    assert {"init", "verify", "reconcile", "close"} <= set(helps)
    for text in helps.values():
        listed = text.split("(", 1)[1].split(";", 1)[0]
        assert sorted(n.strip() for n in listed.split(",")) == list(adapter_names())


def test_a_mapping_and_an_adapter_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"either --mapping .* or --adapter"):
        read_ledger(tmp_path, mapping=tmp_path / "m.toml", adapter="formance")


def _database(path: Path, ddl: str) -> Path:
    with closing(sqlite3.connect(path)) as connection:
        connection.executescript(ddl)
    return path


def test_a_missing_vendor_table_names_the_adapter_the_table_and_the_expected_ones(
    tmp_path: Path,
) -> None:
    db = _database(tmp_path / "v.sqlite", "CREATE TABLE accounts (id TEXT, name TEXT);")
    with open_relations(db) as opened, pytest.raises(InputError) as raised:
        require_layout("acme", opened, {"accounts": ("id",), "transfers": ("id", "amount")})
    text = str(raised.value)
    assert text.startswith("--adapter acme: ")
    assert "table 'transfers' is missing" in text
    assert "expected the vendor's tables accounts, transfers" in text
    assert "the source has accounts" in text


def test_an_older_migration_names_the_missing_columns_and_what_the_table_has(
    tmp_path: Path,
) -> None:
    db = _database(tmp_path / "v.sqlite", "CREATE TABLE transfers (id TEXT, amount NUMERIC);")
    with open_relations(db) as opened, pytest.raises(InputError) as raised:
        require_layout(
            "acme", opened, {"transfers": ("id", "amount", "event_at")}, hint="(added in v2)"
        )
    text = str(raised.value)
    assert "table transfers" in text
    assert "column(s) event_at missing" in text
    assert "it has id, amount" in text
    assert text.endswith("(added in v2)")


# --- the seal -------------------------------------------------------------------------------


def _seal(frames: LedgerFrames, earlier: tuple[Checkpoint, ...] = ()) -> CheckResult:
    return seal_check("acme", frames, earlier).result


def _with(frames: LedgerFrames, **tables: pl.DataFrame) -> LedgerFrames:
    return LedgerFrames.from_tables({**dict(frames.items()), **tables})


def test_the_seal_names_one_checkpoint_per_ledger_and_is_not_proven_alone(
    demo_frames: LedgerFrames,
) -> None:
    result = _seal(demo_frames)
    ledgers = sorted(demo_frames.transactions["ledger_id"].unique())
    assert [c.ledger_id for c in result.checkpoints] == [seal_name("acme", i) for i in ledgers]
    assert all(c.seq == c.row_count for c in result.checkpoints)
    assert sum(c.seq for c in result.checkpoints) == demo_frames.transactions.height
    assert result.findings.is_empty()
    assert set(result.coverage.unproven_rules) == {
        RuleId.CHAIN_TRUNCATED,
        RuleId.CHAIN_REWRITTEN,
    }


def test_the_same_copy_extends_its_seal(demo_frames: LedgerFrames) -> None:
    first = _seal(demo_frames)
    again = _seal(demo_frames, first.checkpoints)
    assert again.findings.is_empty()
    assert again.coverage.unproven_rules == ()
    assert again.checkpoints == first.checkpoints


def test_appended_versions_extend_the_seal(demo_frames: LedgerFrames) -> None:
    cut = int(demo_frames.transactions["recorded_ns"].quantile(0.5) or 0)
    older = demo_frames.transactions.filter(pl.col("recorded_ns") <= cut)
    keys = older.select("ledger_id", "transaction_id", "version")
    earlier = _with(
        demo_frames,
        transactions=older,
        entries=demo_frames.entries.join(keys, on=list(keys.columns), how="semi"),
    )
    assert _seal(demo_frames, _seal(earlier).checkpoints).findings.is_empty()


def test_an_edited_amount_rewrites_the_sealed_history(demo_frames: LedgerFrames) -> None:
    sealed = _seal(demo_frames).checkpoints
    entries = demo_frames.entries.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.col("amount") + 1)
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    findings = _seal(_with(demo_frames, entries=entries), sealed).findings
    assert findings["rule"].to_list() == [RuleId.CHAIN_REWRITTEN.value]
    assert findings["check"].to_list() == [CHECK]
    assert findings["ledger_id"].to_list() == [demo_frames.entries["ledger_id"][0]]


def test_deleted_versions_truncate_the_sealed_history(demo_frames: LedgerFrames) -> None:
    sealed = _seal(demo_frames).checkpoints
    fewer = demo_frames.transactions.sort("recorded_ns").head(-3)
    findings = _seal(_with(demo_frames, transactions=fewer), sealed).findings
    assert set(findings["rule"]) == {RuleId.CHAIN_TRUNCATED.value}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_seal_does_not_depend_on_the_order_rows_arrive_in(
    demo_frames: LedgerFrames, seed: int
) -> None:
    shuffled = _with(
        demo_frames,
        transactions=demo_frames.transactions.sample(fraction=1.0, shuffle=True, seed=seed),
        entries=demo_frames.entries.sample(fraction=1.0, shuffle=True, seed=seed),
    )
    assert _seal(shuffled).checkpoints == _seal(demo_frames).checkpoints


# --- init --adapter -------------------------------------------------------------------------


def test_the_starter_proposes_bank_accounts_and_gl_groups_from_what_was_read(
    demo_frames: LedgerFrames,
) -> None:
    proposal = propose(Adapted("acme", demo_frames, _report(demo_frames)))
    banks = {b.account_id: b.asset_id for b in proposal.bank_accounts}
    assert banks["assets:bank:operating:usd"] == "USD/2"
    assert banks["assets:bank:operating:eur"] == "EUR/2"
    assert all(account.startswith("assets:") for account in banks)
    assert "liabilities:*" in {g.pattern for g in proposal.groups}
    assert proposal.groups
    assert proposal.decisions == ()


def _report(frames: LedgerFrames) -> LoadReport:
    return LoadReport(
        "acme source",
        tuple(TableCount(t, f.height, f.height, 0) for t, f in frames.items()),
        empty_rejections(),
    )
