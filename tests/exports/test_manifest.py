"""manifest.json: canonical JSON, digests of files and frames, coverage, reproducibility."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ledger_audit import __version__
from ledger_audit.errors import InputError
from ledger_audit.exports import manifest
from ledger_audit.exports.findings import write_frame
from ledger_audit.exports.manifest import (
    BUNDLE_FORMAT,
    CheckCoverage,
    Digest,
    Manifest,
    build_manifest,
    content_digest,
    digest_file,
    digest_frames,
    digest_outputs,
    frames_digest,
    manifest_json,
    write_manifest,
)
from ledger_audit.findings import CheckResult, Coverage, empty_findings
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.schema.times import iso_to_ns
from ledger_audit.sources import load_ledger
from ledger_audit.sources.ledger_frames import LedgerFrames
from tests.conftest import DemoFactory
from tests.text_ledger import ledger_from_text

RUN = iso_to_ns("2025-02-03T04:05:06.123456789Z")

LEDGER = """
ledger demo
account assets:bank debit USD/2
account revenue:fees credit USD/2
tx tx-1 standard posted at=10
  assets:bank debit 1250 USD/2
  revenue:fees credit 1250 USD/2
"""


def _results() -> tuple[CheckResult, ...]:
    return (
        CheckResult(
            "chain",
            empty_findings(),
            Coverage(3, "transaction versions", "ledger demo", ("genesis not pinned",)),
            checkpoints=(Checkpoint("demo", 3, "c" * 64, 3),),
        ),
        CheckResult("balances", empty_findings(), Coverage(0, "balance rows", "ledger demo")),
    )


def _manifest(**changes: Any) -> Manifest:
    arguments: dict[str, Any] = {
        "run_time_ns": RUN,
        "parameters": {"period": "2025-01", "basis": "effective"},
        "inputs": [Digest("sqlite:///ledger.sqlite", "frames", "a" * 64, 7)],
        "outputs": [
            Digest("tables/b.csv", "file", "b" * 64, 2),
            Digest("a.csv", "file", "a" * 64, 1),
        ],
        "checkpoints": [Checkpoint("z", 2, "f" * 64, 2), Checkpoint("a", 9, "e" * 64, 9)],
        "coverage": _results(),
    }
    arguments.update(changes)
    return build_manifest(**arguments)


def test_manifest_json_is_canonical_and_complete(tmp_path: Path) -> None:
    manifest = build_manifest(
        run_time_ns=RUN,
        parameters={"period": "2025-01", "basis": "effective"},
        inputs=[Digest("sqlite:///ledger.sqlite", "frames", "a" * 64, 7)],
        outputs=[Digest("tables/b.csv", "file", "b" * 64, 2), Digest("a.csv", "file", "a" * 64, 1)],
        checkpoints=[Checkpoint("z", 2, "f" * 64, 2), Checkpoint("a", 9, "e" * 64, 9)],
        coverage=_results(),
    )
    path = write_manifest(tmp_path / "bundle" / "manifest.json", manifest)
    text = path.read_text(encoding="utf-8")
    assert text == manifest_json(manifest)
    assert text.endswith("}\n")
    body = json.loads(text)
    assert text == json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert body["format"] == BUNDLE_FORMAT
    assert body["package"] == {"name": "ledger-audit", "version": __version__}
    assert body["run_time"] == "2025-02-03T04:05:06.123456789Z"
    assert body["parameters"] == {"basis": "effective", "period": "2025-01"}
    assert [o["name"] for o in body["outputs"]] == ["a.csv", "tables/b.csv"]
    assert body["inputs"] == [
        {"name": "sqlite:///ledger.sqlite", "kind": "frames", "sha256": "a" * 64, "size": 7}
    ]
    assert [(c["ledger_id"], c["seq"]) for c in body["checkpoints"]] == [("a", 9), ("z", 2)]
    assert body["coverage"] == [
        {
            "check": "chain",
            "status": "passed",
            "findings": 0,
            "checked": 3,
            "unit": "transaction versions",
            "scope": "ledger demo",
            "unproven": ["genesis not pinned"],
        },
        {
            "check": "balances",
            "status": "no data",
            "findings": 0,
            "checked": 0,
            "unit": "balance rows",
            "scope": "ledger demo",
            "unproven": [],
        },
    ]


def test_content_digest_ignores_only_the_run_time() -> None:
    first = _manifest()
    later = _manifest(run_time_ns=RUN + 10**12)
    assert manifest_json(first) != manifest_json(later)
    assert content_digest(first) == content_digest(later)
    other = _manifest(parameters={"period": "2025-02", "basis": "effective"})
    assert content_digest(first) != content_digest(other)
    # argument order does not matter: inputs, outputs and checkpoints are sorted
    shuffled = _manifest(
        outputs=[Digest("a.csv", "file", "a" * 64, 1), Digest("tables/b.csv", "file", "b" * 64, 2)]
    )
    assert manifest_json(first) == manifest_json(shuffled)


def test_bad_manifests_are_input_errors() -> None:
    with pytest.raises(InputError, match="listed twice"):
        _manifest(outputs=[Digest("a.csv", "file", "a" * 64, 1)] * 2)
    with pytest.raises(InputError, match="must be text"):
        _manifest(parameters={"max_lines": 10})
    with pytest.raises(InputError, match="run time"):
        _manifest(run_time_ns=1.5)


def test_with_outputs_adds_the_later_files() -> None:
    manifest = build_manifest(run_time_ns=RUN, parameters={}, inputs=())
    extended = manifest.with_outputs([Digest("workpaper.xlsx", "file", "d" * 64, 9)])
    assert [d.name for d in extended.outputs] == ["workpaper.xlsx"]
    assert extended.run_time_ns == RUN
    with pytest.raises(InputError, match="listed twice"):
        extended.with_outputs([Digest("workpaper.xlsx", "file", "d" * 64, 9)])


def test_coverage_record_of_a_result() -> None:
    chain = CheckCoverage.of(_results()[0])
    assert chain == CheckCoverage(
        "chain", "passed", 0, 3, "transaction versions", "ledger demo", ("genesis not pinned",)
    )


def test_file_digests_are_of_the_bytes_and_named_inside_the_bundle(tmp_path: Path) -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", None]})
    parquet, csv = write_frame(frame, tmp_path / "tables", "t")
    digests = digest_outputs(tmp_path, [parquet, csv])
    assert [d.name for d in digests] == ["tables/t.csv", "tables/t.parquet"]
    for digest, path in zip(digests, [csv, parquet], strict=True):
        assert digest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest.size == path.stat().st_size
        assert digest.kind == "file"
    # the same frame written again gives the same digests: outputs are reproducible
    again = write_frame(frame, tmp_path / "again" / "tables", "t")
    assert digest_outputs(tmp_path / "again", again) == digests
    assert digest_file(csv).name == str(csv)
    with pytest.raises(InputError, match="not inside"):
        digest_outputs(tmp_path / "tables", [tmp_path / "elsewhere.csv"])


def test_many_files_hashed_side_by_side_are_each_their_own_digest(tmp_path: Path) -> None:
    sizes = [0, 1, 7, 1 << 20, (1 << 20) + 3, 5_000_000, *range(100, 3_000, 97)]
    paths = []
    for i, size in enumerate(sizes):
        path = tmp_path / "out" / f"f{i:03d}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(bytes((i * 31 + j) % 251 for j in range(size % 4096)) * (size // 4096 + 1))
        paths.append(path)
    digests = digest_outputs(tmp_path, paths)
    assert [d.name for d in digests] == sorted(f"out/{p.name}" for p in paths)
    by_name = {d.name: d for d in digests}
    for path in paths:
        digest = by_name[f"out/{path.name}"]
        assert digest.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest.size == path.stat().st_size


def test_frames_digest_is_deterministic_and_sensitive() -> None:
    frames = ledger_from_text(LEDGER)
    again = ledger_from_text(LEDGER)
    assert frames_digest(frames) == frames_digest(again)
    record = digest_frames(frames, name="sqlite:///x")
    assert record.kind == "frames"
    assert record.size == sum(frame.height for _, frame in frames.items())

    changed = LedgerFrames.from_tables(
        {
            **dict(frames.items()),
            "entries": frames.entries.with_columns(
                pl.when(pl.col("entry_index") == 0)
                .then(pl.col("amount") + 1)
                .otherwise(pl.col("amount"))
                .alias("amount")
            ),
        }
    )
    assert frames_digest(changed) != frames_digest(frames)


def test_frames_digest_tells_null_from_empty_text_and_ignores_the_amount_width() -> None:
    frames = ledger_from_text(LEDGER)
    tables = dict(frames.items())
    empty_text = tables["transactions"].with_columns(pl.lit("").alias("external_id"))
    null_text = tables["transactions"].with_columns(
        pl.lit(None, dtype=pl.String()).alias("external_id")
    )
    digests = {
        frames_digest(LedgerFrames.from_tables({**tables, "transactions": t}))
        for t in (empty_text, null_text)
    }
    assert len(digests) == len((empty_text, null_text))
    wide = tables["entries"].with_columns(pl.col("amount").cast(WIDE_AMOUNT))
    assert wide["amount"].to_list()[0] == Decimal(1250)
    assert frames_digest(LedgerFrames.from_tables({**tables, "entries": wide})) == frames_digest(
        frames
    )


def _digest_as_documented(frames: LedgerFrames) -> str:
    """``frames_digest``'s encoding written out plainly: one table, then one row, at a time."""
    hasher = hashlib.sha256(b"ledger-audit/frames-digest/1")
    for table, frame in frames.items():
        header = json.dumps([table, frame.columns, frame.height], ensure_ascii=False)
        hasher.update(b"\x1e" + header.encode() + b"\x1e")
        for row in frame.select(pl.all().cast(pl.String())).iter_rows():
            line = json.dumps(
                dict(zip(frame.columns, row, strict=True)),
                ensure_ascii=False,
                separators=(",", ":"),
            )
            hasher.update(line.encode() + b"\n")
    return hasher.hexdigest()


@pytest.mark.parametrize("chunk_rows", [1, 7, 65_536])
def test_frames_digest_is_its_documented_encoding_whatever_the_chunks(
    monkeypatch: pytest.MonkeyPatch, demo_factory: DemoFactory, chunk_rows: int
) -> None:
    """Chunks rendered ahead of the hashing on helper threads are hashed in order: the
    digest is the encoding's, row by row, for chunks of one row to all rows (the demo's
    metadata JSON puts quotes and backslashes in the text)."""
    frames, _ = load_ledger(demo_factory(transactions=600, seed=7).ledger_path)
    assert frames.transactions["metadata"].str.contains('"').any()
    monkeypatch.setattr(manifest, "_CHUNK_ROWS", chunk_rows)
    assert frames_digest(frames) == _digest_as_documented(frames)
