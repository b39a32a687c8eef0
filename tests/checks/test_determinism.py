"""Same inputs, same bytes: ``verify``, ``reconcile`` and ``close`` over one ledger whose rows
are stored in another physical order (SQLite, Parquet and CSV folders), or read twice.

The ledger is a small planted demo plus a copy of one payment under a new id at the same seq
and the same instant: rows that tie on every ordering key but the id, where a sort that is not total
shows (the copy's duplicate-payment finding used to alternate between runs).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ledger_audit.cli import main
from ledger_audit.close.bundle import write_bundle
from ledger_audit.close.run import CloseParameters, run_close
from ledger_audit.demo.summary import DemoSummary
from ledger_audit.exports.snapshot import write_ledger_snapshot
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources import load_ledger
from ledger_audit.sources.ledger_frames import LedgerFrames
from tests.checks.demo_tampering import Ledger
from tests.conftest import PROJECT_ROOT, DemoFactory

MAPPING = PROJECT_ROOT / "mappings" / "demo.toml"
COPY = "tx-copy"
"""The id of the copied row: it ties with its original on recorded time and seq."""
RUN_TIME_NS = 1_738_368_000_000_000_000
Outputs = dict[str, bytes]


@pytest.fixture(scope="module")
def planted(demo_factory: DemoFactory) -> DemoSummary:
    return demo_factory(transactions=200, seed=7)


@pytest.fixture(scope="module")
def tied(planted: DemoSummary, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted demo with a payment copied under a new id at its own seq."""
    path = tmp_path_factory.mktemp("tied") / "ledger.sqlite"
    shutil.copy(planted.ledger_path, path)
    with closing(sqlite3.connect(path)) as conn:
        ledger = Ledger(conn)
        row = next(r for r in ledger.rows() if r["kind"] == "standard" and r["version"] == 0)
        legs = ledger.legs(row)
        ledger.insert(
            {**row, "transaction_id": COPY},
            [{**leg, "transaction_id": COPY} for leg in legs],
        )
        conn.commit()
    return path


@pytest.fixture(scope="module")
def statements(planted: DemoSummary) -> tuple[str, ...]:
    assert planted.statements is not None
    return tuple(str(p) for p in planted.statements.statements)


@contextlib.contextmanager
def inside(folder: Path) -> Iterator[None]:
    """Run in ``folder`` so every source is named the same relative way in the outputs."""
    before = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def shuffled_sqlite(original: Path, target: Path, rng: random.Random) -> None:
    """A copy of ``original`` whose tables hold the same rows in another physical order."""
    shutil.copy(original, target)
    with closing(sqlite3.connect(target)) as conn:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"):
            conn.execute(f"DROP TRIGGER {name}")
        for table in CANONICAL_TABLES:
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()
            rng.shuffle(rows)
            conn.execute(f"DELETE FROM {table}")
            if rows:
                marks = ", ".join("?" for _ in rows[0])
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        conn.commit()
        conn.execute("VACUUM")


def shuffled_folder(frames: LedgerFrames, target: Path, fmt: str, seed: int | None) -> None:
    """The ledger as a Parquet or CSV folder, rows shuffled (``seed`` None: in key order)."""
    tables = {
        name: frame if seed is None else frame.sample(fraction=1.0, shuffle=True, seed=seed)
        for name, frame in frames.items()
    }
    write_ledger_snapshot(LedgerFrames(**tables), target, fmt)  # type: ignore[arg-type]


def outputs(folder: Path) -> Outputs:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def staged(place: Path) -> Path:
    """``place`` copied to one fixed folder beside it, so that every layout's source has the
    same path (the outputs name it)."""
    run = place.parent / "run"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(place, run)
    return run


def cli(place: Path, *argv: str) -> Outputs:
    """Run the CLI on ``place`` (staged) with ``--out out``; the files it wrote."""
    run = staged(place)
    with inside(run), contextlib.redirect_stdout(io.StringIO()):
        code = main([*argv, "--out", "out"])
    assert code in (0, 1)
    return outputs(run / "out")


def layouts(tied: Path, root: Path, seed: int) -> dict[str, Path]:
    """The same ledger five ways, each as ``ledger*`` inside its own folder."""
    rng = random.Random(seed)
    frames, _ = load_ledger(tied)
    places: dict[str, Path] = {}
    for name in ("sqlite", "sqlite_shuffled", "parquet", "parquet_shuffled", "csv_shuffled"):
        places[name] = root / name
        places[name].mkdir()
    shutil.copy(tied, places["sqlite"] / "ledger.sqlite")
    shuffled_sqlite(tied, places["sqlite_shuffled"] / "ledger.sqlite", rng)
    shuffled_folder(frames, places["parquet"] / "ledger", "parquet", None)
    shuffled_folder(frames, places["parquet_shuffled"] / "ledger", "parquet", seed)
    shuffled_folder(frames, places["csv_shuffled"] / "ledger", "csv", seed + 1)
    return places


def source(place: Path) -> str:
    return "ledger.sqlite" if (place / "ledger.sqlite").exists() else "ledger"


_SETTINGS = settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: one example is minutes of work
)


@_SETTINGS
@given(seed=st.integers(0, 2**31))
def test_verify_gives_the_same_bytes_whatever_the_row_order(
    tied: Path, tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    places = layouts(tied, tmp_path_factory.mktemp("verify"), seed)
    runs = {name: cli(place, "verify", source(place)) for name, place in places.items()}
    again = cli(places["sqlite"], "verify", "ledger.sqlite")
    assert again == runs["sqlite"]  # read twice
    assert runs["sqlite_shuffled"] == runs["sqlite"]
    assert runs["parquet_shuffled"] == runs["parquet"]
    assert runs["csv_shuffled"] == runs["parquet"]  # a folder is named the same either way
    for name, files in runs.items():  # the findings never depend on the source kind
        assert files["findings.csv"] == runs["sqlite"]["findings.csv"], name
        assert files["checkpoints.json"] == runs["sqlite"]["checkpoints.json"], name
    findings = pl.read_csv(io.BytesIO(runs["sqlite"]["findings.csv"]))
    copies = findings.filter(
        (pl.col("transaction_id") == COPY) | pl.col("message").str.contains(COPY, literal=True)
    )
    assert set(copies.get_column("rule")) >= {"chain.inserted", "payment.duplicate_suspected"}


@_SETTINGS
@given(seed=st.integers(0, 2**31))
def test_reconcile_gives_the_same_bytes_whatever_the_row_order(
    tied: Path, statements: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    places = layouts(tied, tmp_path_factory.mktemp("reconcile"), seed)
    argv = ("--statements", *statements)
    runs = {
        name: cli(place, "reconcile", "--ledger", source(place), *argv)
        for name, place in places.items()
    }
    assert cli(places["sqlite"], "reconcile", "--ledger", "ledger.sqlite", *argv) == runs["sqlite"]
    for name, files in runs.items():
        assert files == runs["sqlite"], name


def close_bundle(place: Path, statements: tuple[str, ...]) -> Outputs:
    run = staged(place)
    with inside(run):
        parameters = CloseParameters(
            source=source(run), period="2025-01", statements=statements, gl_mapping=str(MAPPING)
        )
        write_bundle(run_close(parameters), run / "bundle", run_time_ns=RUN_TIME_NS)
    return outputs(run / "bundle")


@settings(_SETTINGS, max_examples=1)
@given(seed=st.integers(0, 2**31))
def test_close_gives_the_same_bundle_whatever_the_row_order(
    tied: Path, statements: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory, seed: int
) -> None:
    places = layouts(tied, tmp_path_factory.mktemp("close"), seed)
    first = close_bundle(places["sqlite"], statements)
    assert close_bundle(places["sqlite"], statements) == first
    assert close_bundle(places["sqlite_shuffled"], statements) == first
    assert close_bundle(places["parquet_shuffled"], statements) == close_bundle(
        places["parquet"], statements
    )
