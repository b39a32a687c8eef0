"""Mutated bank files give a parse or a clear InputError: never a traceback, never a lost record.

Seeded, so a failure reproduces: the assertion message names the seed, the sample and the
mutations. Each parse that succeeds must hold read == loaded + rejected (the record checks
it) and must have read at least as many movements as the text visibly starts (lines
``16,`` in BAI2, ``:61:`` in MT940, ``<Ntry>`` in camt.053).
"""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest

from ledger_audit.errors import InputError
from ledger_audit.sources.bank import ParsedStatement, load_statement

SEED = 20240611
ITERATIONS = 3000
TIME_LIMIT_S = 30.0
FORMATS = ("bai2", "camt053", "mt940")
_NOISE = b',/:<>-0123456789CDRV\n \xff\x00\x01\x03\x04\xb2}"&'


def _samples(root: Path) -> list[tuple[str, str, bytes]]:
    found: list[tuple[str, str, bytes]] = []
    for folder in FORMATS:
        for path in sorted((root / folder).iterdir()):
            if path.name.startswith("LICENSE") or ".expected." in path.name:
                continue
            found.append((folder, path.name, path.read_bytes()))
    return found


def _mutate(data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    lines = data.split(b"\n")
    done: list[str] = []
    for _ in range(rng.randint(1, 4)):
        op = rng.choice(("delete", "duplicate", "swap", "flip", "truncate", "insert"))
        done.append(op)
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "flip" and lines[i]:
            line = bytearray(lines[i])
            line[rng.randrange(len(line))] = rng.choice(_NOISE)
            lines[i] = bytes(line)
        elif op == "truncate":
            joined = b"\n".join(lines)
            lines = joined[: rng.randrange(len(joined) + 1)].split(b"\n")
        elif op == "insert":
            lines.insert(i, bytes(rng.choice(_NOISE) for _ in range(rng.randint(0, 12))))
    return b"\n".join(lines), done


def _visible_movements(folder: str, data: bytes) -> int:
    text = data.decode("latin-1")
    if folder == "bai2":
        return sum(1 for line in text.split("\n") if line.strip().startswith("16,"))
    if folder == "mt940":
        return sum(1 for line in text.split("\n") if line.startswith(":61:"))
    return len(re.findall(r"<Ntry>", text))


def test_mutated_bank_files_parse_or_fail_clearly(shared_samples: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    samples = _samples(shared_samples)
    started = time.monotonic()
    outcomes = {"parsed": 0}
    errors: list[tuple[str, str]] = []
    for iteration in range(ITERATIONS):
        folder, name, original = rng.choice(samples)
        data, ops = _mutate(original, rng)
        path = tmp_path / f"m{iteration % 50}{Path(name).suffix}"
        path.write_bytes(data)
        where = f"seed {SEED} iteration {iteration}: {folder}/{name} after {ops}"
        try:
            parsed = load_statement(path, source=folder)
        except InputError as exc:
            errors.append((str(exc), where))
            continue
        except Exception as exc:  # noqa: BLE001 - the point: nothing else may escape
            pytest.fail(f"{where}: {type(exc).__name__}: {exc}")
        assert isinstance(parsed, ParsedStatement), where
        assert parsed.read == parsed.loaded + parsed.rejected, where
        assert parsed.count("records").read >= _visible_movements(folder, data), where
        outcomes["parsed"] += 1
    elapsed = time.monotonic() - started
    assert elapsed < TIME_LIMIT_S, f"{ITERATIONS} mutations took {elapsed:.1f} s"
    assert outcomes["parsed"] > ITERATIONS // 4, outcomes
    assert errors, "no mutation was refused: the fuzzer is too gentle"
    for message, where in errors:
        assert str(tmp_path) in message, f"{where}: the error does not name the file: {message}"
