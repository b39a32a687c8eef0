"""The schema is created the same way in every process, so the same ledger is the same file."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

_CREATE = """
import sys
from ledger_audit.ledger.engine import open_writer_engine, sqlite_url
engine = open_writer_engine(sqlite_url(sys.argv[1]), create=True)
engine.dispose()
"""


def test_fresh_schemas_from_separate_processes_are_the_same_bytes(tmp_path: Path) -> None:
    digests = set()
    for n in range(4):  # each process orders a set of indexes its own way
        path = tmp_path / f"ledger-{n}.sqlite"
        subprocess.run([sys.executable, "-c", _CREATE, str(path)], check=True)
        digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
    assert len(digests) == 1
