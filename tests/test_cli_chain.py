"""``verify --chain-only``: verify's chain findings and checkpoints, streamed when it can be.

The files it writes hold what ``verify`` writes for the chain (its ``chain.*`` findings and
its checkpoints.json, byte for byte), from SQLite and from a Parquet folder, on a clean demo
(streamed) and a planted one (handed over to the frames); a mapped layout is read into frames
and says so; bad input is one line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ledger_audit.cli import main
from ledger_audit.sources import load_ledger
from tests.conftest import DemoFactory
from tests.sources.mapping.foreign import export_csv_versioned
from tests.sources.test_chain_batches import write_folder


def _source(demo_factory: DemoFactory, tmp_path: Path, kind: str, *, clean: bool) -> str:
    database = demo_factory(clean=clean).ledger_path
    if kind == "sqlite":
        return str(database)
    frames, _ = load_ledger(database)
    return str(write_folder(frames, tmp_path / "parquet", "parquet"))


def _chain_findings(out: Path) -> pl.DataFrame:
    """The ``chain.*`` findings a run wrote (without the column naming the checks)."""
    findings = pl.read_parquet(out / "findings.parquet")
    return findings.filter(pl.col("rule").str.starts_with("chain.")).drop("check")


@pytest.mark.parametrize("kind", ["sqlite", "parquet"])
@pytest.mark.parametrize("clean", [True, False])
def test_chain_only_writes_what_verify_writes_for_the_chain(
    demo_factory: DemoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    kind: str,
    *,
    clean: bool,
) -> None:
    source = _source(demo_factory, tmp_path, kind, clean=clean)
    full, chain = tmp_path / "verify", tmp_path / "chain"
    code = main(["verify", source, "--out", str(full), "--suites", "off"])
    capsys.readouterr()
    assert main(["verify", source, "--chain-only", "--out", str(chain), "--batch-rows", "64"]) == (
        0 if clean else 1
    )
    printed = capsys.readouterr().out
    assert code == (0 if clean else 1)
    if clean:
        assert "Chain only, streamed in" in printed
    else:
        assert "Chain only, not streamed, the frames were loaded: a row's content" in printed
    expected = _chain_findings(full)
    assert clean == (expected.height == 0)
    assert _chain_findings(chain).equals(expected)
    assert (chain / "checkpoints.json").read_bytes() == (full / "checkpoints.json").read_bytes()
    summary = pl.read_parquet(chain / "summary.parquet")
    assert set(summary["rule"].to_list()) >= {"chain.tampered", "chain.deleted"}
    assert (summary["status"] == "failed").any() != clean


def test_a_later_chain_only_audit_extends_the_earlier_checkpoint(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = str(demo_factory(clean=True).ledger_path)
    first, second = tmp_path / "first", tmp_path / "second"
    assert main(["verify", source, "--chain-only", "--out", str(first)]) == 0
    checkpoint = str(first / "checkpoints.json")
    argv = ["verify", source, "--chain-only", "--checkpoint", checkpoint, "--out", str(second)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "extends the checkpoint of an earlier audit" in printed
    assert "streamed in 1 batch(es)" in printed


def test_a_mapped_layout_is_verified_over_frames_and_says_why(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    layout = export_csv_versioned(frames, tmp_path / "csv")
    out = tmp_path / "out"
    argv = ["verify", layout.source, "--mapping", str(layout.mapping), "--chain-only"]
    assert main([*argv, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "not streamed, the frames were loaded: the mapping reads the source" in printed
    assert (out / "checkpoints.json").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--engine", "spark"], "--chain-only: streams on this machine: drop --engine spark"),
        (["--batch-rows", "0"], "argument --batch-rows: must be positive, got 0"),
    ],
)
def test_bad_chain_only_arguments_give_one_line_and_exit_2(
    demo_factory: DemoFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    source = str(demo_factory(clean=True).ledger_path)
    assert main(["verify", source, "--chain-only", "--out", str(tmp_path), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_a_folder_without_the_canonical_files_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "ledger"
    folder.mkdir()
    pl.DataFrame({"ledger_id": ["x"]}).write_parquet(folder / "ledgers.parquet")
    assert main(["verify", str(folder), "--chain-only", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "missing file(s)" in err


def test_a_csv_the_stream_cannot_read_gets_the_loaders_one_line_error(
    demo_factory: DemoFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unclosed quote: the stream hands over and the loader names the file and line."""
    frames, _ = load_ledger(demo_factory(clean=True).ledger_path)
    folder = write_folder(frames, tmp_path / "csv", "csv")
    path = folder / "transactions.csv"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[5] = lines[5].replace(",", ',"open', 1)
    path.write_text("\n".join(lines), encoding="utf-8")
    assert main(["verify", str(folder), "--chain-only", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{path}:" in err
    assert "cannot read" in err
