"""Statements parsed in a child process are the statements parsed in process, errors included."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_audit.errors import InputError
from ledger_audit.sources.bank import ParsedStatement, load_statements
from ledger_audit.sources.bank.background import (
    BACKGROUND_MIN_BYTES,
    SPOOL_PREFIX,
    StatementsInBackground,
    check_statements,
)

FILES = (
    "bai2/moj-citi_example.bai2",
    "camt053/camt053.v2.all-balance-types.xml",
    "mt940/betterplace-amount_formats.sta",
)


def _same(got: ParsedStatement, expected: ParsedStatement) -> None:
    assert (got.path, got.source, got.counts, got.encoding) == (
        expected.path,
        expected.source,
        expected.counts,
        expected.encoding,
    )
    for name in ("records", "balances", "findings"):
        assert getattr(got, name).equals(getattr(expected, name)), name


def test_files_parsed_by_a_child_equal_the_files_parsed_in_process(shared_samples: Path) -> None:
    paths = [str(shared_samples / name) for name in FILES]
    expected = load_statements(paths)
    assert expected.source == "mixed"
    assert expected.records.height > 0
    assert expected.balances.height > 0
    with StatementsInBackground(paths, min_bytes=0) as parsing:
        assert parsing.in_child
        _same(parsing.result(), expected)


def test_a_spooled_parse_leaves_nothing_behind(shared_samples: Path, tmp_path: Path) -> None:
    paths = [str(shared_samples / name) for name in FILES]
    with StatementsInBackground(paths, min_bytes=0, spool_under=tmp_path / "spill") as parsing:
        folders = list((tmp_path / "spill").iterdir())
        assert [folder.name[: len(SPOOL_PREFIX)] for folder in folders] == [SPOOL_PREFIX]
        _same(parsing.result(), load_statements(paths))
    assert list((tmp_path / "spill").iterdir()) == []


def test_small_files_are_parsed_in_process_when_asked_for(shared_samples: Path) -> None:
    paths = [str(shared_samples / name) for name in FILES]
    assert sum(Path(path).stat().st_size for path in paths) < BACKGROUND_MIN_BYTES
    with StatementsInBackground(paths) as parsing:
        assert not parsing.in_child
        _same(parsing.result(), load_statements(paths))


@pytest.mark.parametrize("min_bytes", [0, BACKGROUND_MIN_BYTES])
def test_a_bad_or_missing_file_raises_the_error_a_parse_in_process_raises(
    shared_samples: Path, tmp_path: Path, min_bytes: int
) -> None:
    bad = [str(shared_samples / FILES[0]), str(shared_samples / "camt053/camt053.v2.wrong.xml")]
    missing = [str(shared_samples / FILES[0]), str(tmp_path / "absent.bai2")]
    for paths in (bad, missing):
        with pytest.raises(InputError) as in_process:
            load_statements(paths)
        with StatementsInBackground(paths, min_bytes=min_bytes) as parsing:
            with pytest.raises(InputError) as aside:
                parsing.result()
            assert parsing.in_child == (min_bytes == 0)
        assert type(aside.value) is type(in_process.value)
        assert str(aside.value) == str(in_process.value)


BAD_BAI2 = "bai2/moov-error-sample-parseError.txt"
BAD_CAMT = "camt053/camt053.v2.wrong.xml"


@pytest.mark.parametrize("min_bytes", [0, None])
@pytest.mark.parametrize(
    "names",
    [
        FILES,
        (FILES[0], BAD_CAMT, FILES[1]),
        (BAD_BAI2, FILES[0], BAD_CAMT),  # two bad files: the first one's error
        (FILES[0], FILES[1], FILES[2], BAD_CAMT),  # more files than cores
    ],
)
def test_the_check_raises_what_a_parse_in_process_raises(
    shared_samples: Path, names: tuple[str, ...], min_bytes: int | None
) -> None:
    paths = [str(shared_samples / name) for name in names]
    try:
        load_statements(paths)
    except InputError as error:
        expected: InputError | None = error
    else:
        expected = None
    assert (expected is None) == (names == FILES)  # every other case holds a bad file
    if expected is None:
        check_statements(paths, min_bytes=min_bytes)
        return
    with pytest.raises(InputError) as raised:
        check_statements(paths, min_bytes=min_bytes)
    assert type(raised.value) is type(expected)
    assert str(raised.value) == str(expected)
