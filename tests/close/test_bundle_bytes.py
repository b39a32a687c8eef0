"""The close's bundle, written by the streamed workpaper and chunked digests, has the bytes and
digests the previous writers gave: the workpaper equals the reference writer's (every cell an
openpyxl object) on the demo close, and the manifest lists that file's SHA-256."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path

import polars as pl
import pytest

from ledger_audit.close.bundle import MANIFEST, WORKPAPER, input_digests, write_bundle
from ledger_audit.close.run import CloseParameters, MonthEndClose, run_close
from ledger_audit.close.sections import close_tables
from ledger_audit.exports.manifest import FRAMES_DIGEST_SCHEME, Manifest
from ledger_audit.reports.exceptions import readable_findings
from tests.conftest import PROJECT_ROOT, DemoFactory
from tests.exports import workpaper_reference


@pytest.fixture(scope="module")
def close(demo_factory: DemoFactory) -> MonthEndClose:
    demo = demo_factory()
    assert demo.statements is not None
    return run_close(
        CloseParameters(
            source=str(demo.ledger_path),
            period="2025-01",
            statements=tuple(str(p) for p in demo.statements.statements),
            gl_mapping=str(PROJECT_ROOT / "mappings" / "demo.toml"),
        )
    )


@pytest.fixture(scope="module")
def bundle(close: MonthEndClose, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    folder = tmp_path_factory.mktemp("bundle-bytes") / "2025-01"
    return folder, write_bundle(close, folder, run_time_ns=0, pdf=False)


def test_the_workpaper_is_the_reference_writers_bytes(
    close: MonthEndClose, bundle: tuple[Path, Manifest], tmp_path: Path
) -> None:
    folder, manifest = bundle
    tables = close_tables(close)
    assert sum(t.frame.height for t in tables.sheets) > 1_000  # rows past openpyxl's own 200
    shown = dataclasses.replace(
        manifest, outputs=tuple(d for d in manifest.outputs if d.name != WORKPAPER)
    )
    reference = workpaper_reference.write_workpaper(
        tmp_path / WORKPAPER,
        shown,
        (*tables.statements, *tables.sheets),
        readable_findings(close.findings),
        as_of_ns=close.trial_balance.period.end_ns,
    )
    written = (folder / WORKPAPER).read_bytes()
    assert written == reference.read_bytes()
    listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["outputs"]
    digest = next(o["sha256"] for o in listed if o["name"] == WORKPAPER)
    assert digest == hashlib.sha256(written).hexdigest()


def test_the_ledgers_digest_is_the_whole_frame_encodings(close: MonthEndClose) -> None:
    """Cast a chunk at a time (bounded memory), the digest is that of the whole frame cast."""
    hasher = hashlib.sha256(FRAMES_DIGEST_SCHEME.encode())
    for table, frame in close.frames.items():
        header = json.dumps([table, frame.columns, frame.height], ensure_ascii=False)
        hasher.update(b"\x1e" + header.encode() + b"\x1e")
        hasher.update(frame.select(pl.all().cast(pl.String())).write_ndjson().encode())
    assert input_digests(close)[0].sha256 == hasher.hexdigest()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/maps")
def test_a_close_whose_results_are_spilled_writes_the_same_bundle(
    close: MonthEndClose, bundle: tuple[Path, Manifest], tmp_path: Path
) -> None:
    """Every result moved to a mapped file (``sources.spill``), the bundle keeps its bytes."""
    spilled = run_close(close.parameters, spill_to=tmp_path / "spill", spill_min_bytes=0)
    with Path("/proc/self/maps").open(encoding="utf-8") as maps:
        mapped = [line for line in maps if str(tmp_path / "spill") in line]
    assert len(mapped) >= 4  # statements, reconciliation, journals and analytics frames at least
    assert spilled.journals is not None
    assert close.journals is not None
    assert spilled.journals.drilldown.equals(close.journals.drilldown)
    assert list((tmp_path / "spill").iterdir()) == []  # the run's folder is gone

    folder, _ = bundle
    other = tmp_path / "bundle" / "2025-01"
    write_bundle(spilled, other, run_time_ns=0, pdf=False)
    files = sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(other) for p in other.rglob("*") if p.is_file())
    assert len(files) > 20
    differing = [f for f in files if (folder / f).read_bytes() != (other / f).read_bytes()]
    assert differing == []
