"""The evidence bundle's ``manifest.json`` (DESIGN.md section 8): what ran, on what, giving what.

A manifest records the package version, the run time, the run's parameters (flat text), the
SHA-256 of every input (a file's bytes, or for a database the digest of the loaded canonical
frames, :func:`frames_digest`) and of every output file, the chain checkpoints the checks
vouched for, and the coverage of each check.

Determinism. The JSON has sorted keys, two-space indent, UTF-8 and a trailing newline;
inputs and outputs are sorted by name, checkpoints by ledger and seq, coverage stays in the
runner's (catalogue) order. So equal manifests are equal bytes.

The run time. It is the one value not derived from the inputs, so it is never read from
the clock here: the caller passes it (``run_time_ns``, UTC epoch nanoseconds) and a rerun
or a test can fix it, like ``SOURCE_DATE_EPOCH`` in a reproducible build. Outputs that stamp
a time take it from the manifest (the workbook's document properties and cover sheet); the
HTML report, CSV and Parquet tables stamp none. Hence: the same inputs and parameters give
the same output digests whatever the run time, except the workpaper's, which is reproduced
when the run time is passed again. :func:`content_digest` digests the manifest without its
run time: two runs that agree on everything else have the same content digest.

``manifest.json`` does not list itself among the outputs (a file cannot hold its own digest).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Literal

import polars as pl

from ledger_audit import __version__
from ledger_audit.errors import InputError
from ledger_audit.exports.atomic import write_text_atomic
from ledger_audit.findings import CheckResult
from ledger_audit.schema.lach1 import Checkpoint
from ledger_audit.schema.times import ns_to_iso
from ledger_audit.sources.ledger_frames import LedgerFrames

BUNDLE_FORMAT = "ledger-audit/evidence-bundle/1"
"""The manifest layout's name and version (the ``format`` field)."""

FRAMES_DIGEST_SCHEME = "ledger-audit/frames-digest/1"
"""The name of :func:`frames_digest`'s encoding; it is hashed first, so a change shows."""

PACKAGE = "ledger-audit"

DigestKind = Literal["file", "frames"]
"""``file``: SHA-256 of the bytes, size in bytes. ``frames``: :func:`frames_digest`, size in
rows (all six canonical tables)."""

_CHUNK_ROWS = 65_536
_CHUNKS_AHEAD = 2


@dataclass(frozen=True, slots=True)
class Digest:
    """The digest of one input or output.

    Attributes:
        name: how the bundle names it: an output's path relative to the bundle folder
            (``/`` separated), an input's path or URL as given (no password).
        kind: ``file`` or ``frames`` (see ``DigestKind``).
        sha256: lower-case hex SHA-256.
        size: bytes for a file, rows for frames.
    """

    name: str
    kind: DigestKind
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class CheckCoverage:
    """What one check examined and how it ended (from its ``CheckResult``).

    Attributes:
        check: the catalogue name.
        status: ``passed``, ``failed``, ``no data`` or ``crashed``.
        findings: how many findings it raised.
        checked: how many units it examined.
        unit: what a unit is.
        scope: where it looked.
        unproven: what it could not establish, one sentence each.
    """

    check: str
    status: str
    findings: int
    checked: int
    unit: str
    scope: str
    unproven: tuple[str, ...] = ()

    @classmethod
    def of(cls, result: CheckResult) -> CheckCoverage:
        """The coverage record of one check's result."""
        return cls(
            check=result.check,
            status=result.status,
            findings=result.findings.height,
            checked=result.coverage.checked,
            unit=result.coverage.unit,
            scope=result.coverage.scope,
            unproven=tuple(result.coverage.unproven),
        )


@dataclass(frozen=True, slots=True)
class Manifest:
    """One run's manifest.

    Attributes:
        version: the ledger-audit version that ran.
        run_time_ns: when the run happened, UTC epoch nanoseconds, as passed in.
        parameters: (name, value) text pairs, sorted by name.
        inputs: digests of every input, sorted by name.
        outputs: digests of every output file but the manifest, sorted by name.
        checkpoints: chain checkpoints vouched for, sorted by ledger and seq.
        coverage: each check's coverage, in run order.
    """

    version: str
    run_time_ns: int
    parameters: tuple[tuple[str, str], ...]
    inputs: tuple[Digest, ...]
    outputs: tuple[Digest, ...]
    checkpoints: tuple[Checkpoint, ...]
    coverage: tuple[CheckCoverage, ...]

    @property
    def run_time(self) -> str:
        """The run time as ISO 8601 UTC text with nine fraction digits."""
        return ns_to_iso(self.run_time_ns)

    def with_outputs(self, outputs: Iterable[Digest]) -> Manifest:
        """The same manifest with ``outputs`` added (a name already listed is an error)."""
        return build_manifest(
            run_time_ns=self.run_time_ns,
            parameters=dict(self.parameters),
            inputs=self.inputs,
            outputs=(*self.outputs, *outputs),
            checkpoints=self.checkpoints,
            coverage=self.coverage,
            version=self.version,
        )


def build_manifest(
    *,
    run_time_ns: int,
    parameters: Mapping[str, str],
    inputs: Iterable[Digest],
    outputs: Iterable[Digest] = (),
    checkpoints: Iterable[Checkpoint] = (),
    coverage: Iterable[CheckResult | CheckCoverage] = (),
    version: str = __version__,
) -> Manifest:
    """A manifest in canonical order; see the module docstring for what each part means.

    Raises:
        InputError: a parameter that is not text, or two inputs (or outputs) of one name.
    """
    if isinstance(run_time_ns, bool) or not isinstance(run_time_ns, int) or run_time_ns < 0:
        raise InputError("run time", f"expected UTC epoch nanoseconds, got {run_time_ns!r}")
    for name, value in parameters.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InputError(f"parameter {name!r}", f"name and value must be text, not {value!r}")
    return Manifest(
        version=version,
        run_time_ns=run_time_ns,
        parameters=tuple(sorted(parameters.items())),
        inputs=_unique("input", inputs),
        outputs=_unique("output", outputs),
        checkpoints=tuple(sorted(checkpoints, key=lambda c: (c.ledger_id, c.seq, c.head_hash))),
        coverage=tuple(
            c if isinstance(c, CheckCoverage) else CheckCoverage.of(c) for c in coverage
        ),
    )


def _unique(what: str, digests: Iterable[Digest]) -> tuple[Digest, ...]:
    ordered = tuple(sorted(digests, key=lambda d: d.name))
    for before, after in pairwise(ordered):
        if before.name == after.name:
            raise InputError(f"{what} {after.name!r}", "is listed twice")
    return ordered


# --- digests ------------------------------------------------------------------------------


def digest_file(path: Path, *, name: str | None = None) -> Digest:
    """SHA-256 and size of a file's bytes, read in chunks; named ``name`` or its path."""
    hasher = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(block)
            size += len(block)
    return Digest(
        name=str(path) if name is None else name, kind="file", sha256=hasher.hexdigest(), size=size
    )


def digest_outputs(folder: Path, paths: Iterable[Path]) -> tuple[Digest, ...]:
    """Digests of output files, each named by its path relative to ``folder`` (``/``).

    Files are hashed a core each at a time (SHA-256 releases the GIL): a 10M close's bundle
    holds about 12 GB of tables (the 1M bundle's 1.33 GB: 1.02-1.35 s one by one, 0.53-0.57 s
    on two threads).
    """
    named = []
    for path in paths:
        try:
            named.append((path, path.resolve().relative_to(folder.resolve()).as_posix()))
        except ValueError:
            raise InputError(
                f"output {path}", f"is not inside the bundle folder {folder}"
            ) from None
    workers = max(1, min(os.cpu_count() or 1, len(named)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="digest-outputs") as pool:
        digests = list(pool.map(lambda item: digest_file(item[0], name=item[1]), named))
    return tuple(sorted(digests, key=lambda d: d.name))


def frames_digest(frames: LedgerFrames) -> str:
    """A deterministic SHA-256 of the canonical frames, whatever source they were read from.

    Encoding (``FRAMES_DIGEST_SCHEME``): the scheme name; then for each table in canonical
    order its name and column names, its row count, and its rows in frame order (loaders
    sort them by key) as JSON lines with every value as text and null as ``null``. Integers
    are written in full, so an ``Int64`` amount and the same amount read as ``Decimal(38, 0)``
    (a wide ledger) digest alike; the canonical schemas fix every other dtype. Parts are
    separated by ``0x1e``, which JSON never emits unescaped.
    """
    hasher = hashlib.sha256(FRAMES_DIGEST_SCHEME.encode())
    for table, frame in frames.items():
        header = json.dumps([table, frame.columns, frame.height], ensure_ascii=False)
        hasher.update(b"\x1e" + header.encode() + b"\x1e")
        for text in _json_lines(frame):
            hasher.update(text)
    return hasher.hexdigest()


def _json_lines(frame: pl.DataFrame) -> Iterator[memoryview]:
    """The frame's rows as JSON lines (UTF-8), a chunk at a time, in order.

    Chunks are rendered on two helper threads up to :data:`_CHUNKS_AHEAD` ahead of the
    caller, so polars writes the next chunks while SHA-256 (which releases the GIL) hashes
    this one: at 10M transactions the digest took about 55 s one after the other. At most
    that many chunks of text are held at once, never the whole frame. (One helper instead of
    two: the 1M demo's ledger in 4.97-5.11 s against 4.05-4.33 s.)
    """
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="frames-digest") as pool:
        ahead: deque[Future[io.BytesIO]] = deque()
        for chunk in frame.iter_slices(_CHUNK_ROWS):
            ahead.append(pool.submit(_ndjson, chunk))
            if len(ahead) > _CHUNKS_AHEAD:
                yield ahead.popleft().result().getbuffer()
        while ahead:
            yield ahead.popleft().result().getbuffer()


def _ndjson(chunk: pl.DataFrame) -> io.BytesIO:
    """One chunk as JSON lines with every value as text: the bytes, not a str to encode."""
    text = io.BytesIO()
    chunk.select(pl.all().cast(pl.String())).write_ndjson(text)
    return text


def digest_frames(frames: LedgerFrames, *, name: str) -> Digest:
    """The input record of a ledger read from a database: :func:`frames_digest`, total rows."""
    rows = sum(frame.height for _, frame in frames.items())
    return Digest(name=name, kind="frames", sha256=frames_digest(frames), size=rows)


# --- JSON ---------------------------------------------------------------------------------


def manifest_object(manifest: Manifest) -> dict[str, object]:
    """The manifest as plain JSON values (what ``manifest.json`` holds)."""

    def digests(items: Sequence[Digest]) -> list[dict[str, object]]:
        return [{"name": d.name, "kind": d.kind, "sha256": d.sha256, "size": d.size} for d in items]

    return {
        "format": BUNDLE_FORMAT,
        "package": {"name": PACKAGE, "version": manifest.version},
        "run_time": manifest.run_time,
        "parameters": dict(manifest.parameters),
        "inputs": digests(manifest.inputs),
        "outputs": digests(manifest.outputs),
        "checkpoints": [
            {
                "ledger_id": c.ledger_id,
                "seq": c.seq,
                "head_hash": c.head_hash,
                "row_count": c.row_count,
            }
            for c in manifest.checkpoints
        ],
        "coverage": [
            {
                "check": c.check,
                "status": c.status,
                "findings": c.findings,
                "checked": c.checked,
                "unit": c.unit,
                "scope": c.scope,
                "unproven": list(c.unproven),
            }
            for c in manifest.coverage
        ],
    }


def _dumps(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def manifest_json(manifest: Manifest) -> str:
    """The text of ``manifest.json``: sorted keys, two-space indent, trailing newline."""
    return _dumps(manifest_object(manifest))


def content_digest(manifest: Manifest) -> str:
    """SHA-256 of the manifest's JSON without ``run_time``: equal for runs equal but in time."""
    body = manifest_object(manifest)
    del body["run_time"]
    return hashlib.sha256(_dumps(body).encode()).hexdigest()


def write_manifest(path: Path, manifest: Manifest) -> Path:
    """Write ``manifest.json`` (atomically, parents created) and return its path."""
    return write_text_atomic(path, manifest_json(manifest))


def add_outputs(path: Path, outputs: Iterable[Digest]) -> Path:
    """Add ``outputs`` to the ``manifest.json`` at ``path`` (rewritten atomically).

    For an output written after the manifest (the executed close notebook, whose last cell
    wrote the manifest). The rest of the manifest stays as it was, byte for byte in meaning:
    the JSON is re-serialised in the canonical form.

    Raises:
        InputError: the file is not a manifest of this format, or a name is already listed.
    """
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read the manifest: {exc}") from exc
    if not isinstance(body, dict) or body.get("format") != BUNDLE_FORMAT:
        raise InputError(str(path), f"is not a {BUNDLE_FORMAT} manifest")
    listed = [
        Digest(name=o["name"], kind=o["kind"], sha256=o["sha256"], size=o["size"])
        for o in body["outputs"]
    ]
    merged = _unique("output", (*listed, *outputs))
    body["outputs"] = [
        {"name": d.name, "kind": d.kind, "sha256": d.sha256, "size": d.size} for d in merged
    ]
    return write_text_atomic(path, _dumps(body))
