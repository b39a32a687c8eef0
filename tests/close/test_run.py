"""``run_close`` without the notebook: the same close from SQLite and from PostgreSQL, stages
that cannot run say so, and bad inputs are named before any work starts."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from ledger_audit.close import sections
from ledger_audit.close.run import CloseParameters, MonthEndClose, run_close
from ledger_audit.close.sections import close_tables
from ledger_audit.errors import InputError
from ledger_audit.exports.manifest import frames_digest
from ledger_audit.sources import load_ledger
from ledger_audit.sources.bank import background
from tests.conftest import PROJECT_ROOT, DemoFactory
from tests.sources.sample_ledger import write_sample_ledger

MAPPING = str(PROJECT_ROOT / "mappings" / "demo.toml")


def parameters(source: str, demo_factory: DemoFactory, **changes: object) -> CloseParameters:
    demo = demo_factory()
    assert demo.statements is not None
    base: dict[str, object] = {
        "source": source,
        "period": "2025-01",
        "statements": tuple(str(p) for p in demo.statements.statements),
        "gl_mapping": MAPPING,
    }
    return CloseParameters(**(base | changes))  # type: ignore[arg-type]


def comparable(close: MonthEndClose) -> pl.DataFrame:
    return close.findings.drop("check")


def _parsed_in_process(*_: object) -> None:
    raise AssertionError("the statements were parsed in process, not by the child")


def test_the_same_close_from_postgresql_as_from_sqlite(
    demo_factory: DemoFactory, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also: the PostgreSQL close parses its statements in process, the SQLite one in a
    child process (``sources.bank.background``; this process's parser is disabled)."""
    demo = demo_factory()
    frames, _ = load_ledger(demo.ledger_path)
    engine = sa.create_engine(pg_url, poolclass=NullPool)
    write_sample_ledger(engine, {table: frame.to_dicts() for table, frame in frames.items()})
    engine.dispose()

    stages: list[str] = []
    from_pg = run_close(
        parameters(pg_url, demo_factory, suites="sql"),
        on_stage=lambda stage, _seconds: stages.append(stage),
    )
    with monkeypatch.context() as patch:
        patch.setattr(background, "BACKGROUND_MIN_BYTES", 0)
        patch.setattr(background, "load_statements", _parsed_in_process)
        from_sqlite = run_close(parameters(str(demo.ledger_path), demo_factory))
    assert stages == [
        "load",
        "audit",
        "statements",
        "reconcile",
        "drift",
        "trial balance",
        "journals",
        "analytics",
    ]
    assert frames_digest(from_pg.frames) == frames_digest(from_sqlite.frames)
    for close in (from_pg, from_sqlite):  # a crash is a critical finding too: say it apart
        assert "crashed" not in close.checks()["status"].to_list()
        assert "check.crashed" not in close.findings["rule"].to_list()
    assert comparable(from_pg).equals(comparable(from_sqlite))
    assert from_pg.statements is not None
    assert from_sqlite.statements is not None
    for name in ("records", "balances", "findings"):
        assert getattr(from_pg.statements, name).equals(getattr(from_sqlite.statements, name))
    assert from_pg.statements.counts == from_sqlite.statements.counts
    assert from_pg.findings.height == 20  # with the untied processor payout
    assert from_pg.trial_balance.rows.equals(from_sqlite.trial_balance.rows)
    assert from_pg.journals is not None
    assert from_sqlite.journals is not None
    assert from_pg.journals.lines.equals(from_sqlite.journals.lines)
    # the audited database was only read
    again, _ = load_ledger(pg_url)
    assert frames_digest(again) == frames_digest(from_pg.frames)


def test_without_statements_or_mapping_those_stages_say_they_did_not_run(
    demo_factory: DemoFactory,
) -> None:
    demo = demo_factory()
    close = run_close(
        parameters(str(demo.ledger_path), demo_factory, statements=(), gl_mapping=None)
    )
    status = dict(close.checks().select("check", "status").iter_rows())
    assert status["statements"] == status["reconcile"] == status["drift"] == "no data"
    assert status["journals"] == "no data"
    assert status["chain"] == "failed"
    unproven = dict(close.checks().select("check", "unproven").iter_rows())
    assert unproven["reconcile"] == "no statements were given"
    assert unproven["journals"] == "no GL mapping was given"
    assert close.reconciliation is None
    assert close.journals is None
    assert not close.findings["rule"].str.starts_with("recon.").any()
    assert close.trial_balance.balanced


def test_bad_inputs_are_named(demo_factory: DemoFactory, tmp_path: Path) -> None:
    demo = demo_factory()
    with pytest.raises(InputError, match="2025-13"):
        parameters(str(demo.ledger_path), demo_factory, period="2025-13")
    with pytest.raises(InputError, match="as_of"):
        parameters(str(demo.ledger_path), demo_factory, as_of="31/01/2025")
    missing = tmp_path / "mapping.toml"
    with pytest.raises(InputError, match=str(missing)):
        run_close(parameters(str(demo.ledger_path), demo_factory, gl_mapping=str(missing)))
    bad_rules = tmp_path / "rules.toml"
    bad_rules.write_text("version = \n", encoding="utf-8")
    with pytest.raises(InputError, match=str(bad_rules)):
        run_close(parameters(str(demo.ledger_path), demo_factory, rules=str(bad_rules)))


def test_a_table_longer_than_excel_allows_ships_as_data_only(
    demo_factory: DemoFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = demo_factory()
    close = run_close(parameters(str(demo.ledger_path), demo_factory))
    normal = close_tables(close)
    assert "Matches" not in {t.name for t in normal.sheets}  # a row per match: data only
    assert {"Matches", "Match links", "Journal drill-down"} <= {t.name for t in normal.data}
    trial_balance_rows = normal.named("Trial balance").frame.height
    monkeypatch.setattr(sections, "MAX_ROWS", trial_balance_rows)
    limited = close_tables(close)
    moved = {t.name for t in limited.data} - {t.name for t in normal.data}
    assert "Trial balance" in moved
    assert all(t.frame.height >= trial_balance_rows for t in limited.data if t.name in moved)
    assert all(t.frame.height < trial_balance_rows for t in limited.sheets)


@pytest.mark.parametrize("clean", [True, False])
def test_the_demo_close_reconciles_the_processor_report_three_ways(
    demo_factory: DemoFactory, clean: bool
) -> None:
    demo = demo_factory(clean=clean)
    assert demo.statements is not None
    assert demo.statements.processor_report in demo.statements.statements
    close = run_close(
        parameters(
            str(demo.ledger_path),
            demo_factory,
            statements=tuple(str(p) for p in demo.statements.statements),
        )
    )
    recon = close.reconciliation
    assert recon is not None
    assert recon.breaks.filter(pl.col("class") == "unmapped_account").is_empty()
    payouts = recon.payouts
    assert payouts.height > 0
    # every payout's net is the bank line that names it, planted or not
    assert (payouts["bank_amount"] == -payouts["payout"]).all()
    untied = payouts.filter(pl.col("status") == "untied")
    if clean:
        assert untied.is_empty()
        assert recon.findings.is_empty()
        assert (payouts["ledger_gross"] == payouts["gross"]).all()
        assert (payouts["ledger_payout"] == payouts["payout"]).all()
    else:  # the planted processor fee the ledger does not book
        assert untied["untied"].to_list() == ["fees,payout"]
        finding = recon.findings.filter(pl.col("rule") == "recon.payout_untied").row(0, named=True)
        assert finding["message"].startswith(f"payout {untied['payout_id'].item()} does not tie")
        assert Path(finding["locator"].rsplit(":", 1)[0]).name == "processor-payouts.csv"
    # the processor balance states no balance: the drift covers the bank accounts only
    assert close.drift is not None
    assert set(close.drift.daily["account_id"]) == {
        "assets:bank:operating:usd",
        "assets:bank:operating:eur",
    }
    assert "Payouts" in {t.name for t in close_tables(close).sheets}
