"""The frame path gives GX no pandas copy of every leg, and finds what a whole-frame run finds.

Row-wise built-in expectations run on slices of ``CHUNK_ROWS`` rows; the custom expectations
and the coverage run on a rowless batch frame whose metrics read the legs through DuckDB.
"""

from __future__ import annotations

import json

import great_expectations.execution_engine.pandas_execution_engine as gx_pandas_engine
import pandas as pd
import polars as pl
import pytest

from ledger_audit.checks import gx_suites
from ledger_audit.checks.invariant_rules import LEGS_SCHEMA, prepare_legs
from ledger_audit.checks.invariants import check_invariants
from ledger_audit.checks.suite_files import ExpectationSpec, SuiteSpec, read_suites
from ledger_audit.findings import RuleId, Severity
from ledger_audit.spec import VerifySpec
from tests.checks.test_gx_frames import _Forgetful
from tests.checks.test_suites import DAMAGED
from tests.checks.test_wide_amounts import _wide_frames
from tests.text_ledger import ledger_from_text

BUILT_IN_RULES = {"entry.invalid_amount", "entry.asset_mismatch", "entry.unknown_account"}


def _whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every expectation on one batch frame holding every row (the path before slicing)."""
    monkeypatch.setattr(gx_suites, "_sliced", lambda _: False)


@pytest.mark.parametrize(("rows", "wide"), [(1, False), (3, True), (1_000, False)])
def test_slices_find_what_the_whole_frame_finds(
    monkeypatch: pytest.MonkeyPatch, rows: int, *, wide: bool
) -> None:
    frames = _wide_frames() if wide else ledger_from_text(DAMAGED)
    with monkeypatch.context() as whole:
        _whole(whole)
        expected = check_invariants(frames, VerifySpec())
    monkeypatch.setattr(gx_suites, "CHUNK_ROWS", rows)
    sliced = check_invariants(frames, VerifySpec())
    assert sliced.findings.equals(expected.findings, null_equal=True)
    assert sliced.coverage == expected.coverage
    assert "check.crashed" not in sliced.findings["rule"].to_list()
    if not wide:  # the damaged ledger breaks every built-in expectation that has a rule here
        assert set(sliced.findings["rule"]) >= BUILT_IN_RULES


def test_no_batch_frame_holds_every_leg(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = ledger_from_text(DAMAGED)
    legs = prepare_legs(frames)
    seen: list[pd.DataFrame] = []
    export = gx_suites.to_pandas

    def spy(frame: pl.DataFrame, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        seen.append(exported := export(frame, columns))
        return exported

    monkeypatch.setattr(gx_suites, "to_pandas", spy)
    monkeypatch.setattr(gx_suites, "CHUNK_ROWS", 4)
    result = check_invariants(frames, VerifySpec())
    assert result.coverage.checked > 0
    assert len(seen) == 1 + -(-legs.height // 4)  # the rowless frame, then each slice
    assert len(seen[0]) == 0
    assert list(seen[0].columns) == list(LEGS_SCHEMA)
    for part in seen[1:]:
        assert 0 < len(part) <= 4
        assert set(part.columns) < set(LEGS_SCHEMA)  # the named columns and the row index only
        assert set(gx_suites.INDEX_COLUMNS) <= set(part.columns)


def test_a_copy_of_the_rowless_frame_is_an_error_never_an_empty_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Should GX hand a metric a copy instead of the registered frame, nothing passes."""
    monkeypatch.setattr(gx_suites, "_BATCHES", _Forgetful())
    with pytest.raises(RuntimeError, match=r"coverage metric failed.*rowless"):
        check_invariants(ledger_from_text(DAMAGED), VerifySpec())


def _spec(kind: str, kwargs: dict[str, object], rule: RuleId) -> ExpectationSpec:
    return ExpectationSpec(kind, json.dumps(kwargs, sort_keys=True), rule, Severity.HIGH, "d")


def test_what_cannot_be_sliced_sees_every_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """``mostly`` is a share of all rows: that expectation gets a batch frame with every row.

    The custom expectation beside it still reads the legs through DuckDB, and the row-wise
    one still runs slice by slice; the findings are the whole-frame run's.
    """
    customs = next(s for s in read_suites() if s.name.endswith("entries")).expectations[:1]
    suite = SuiteSpec(
        "mixed",
        (
            _spec(
                "expect_column_values_to_be_between",
                {"column": "amount", "min_value": 1, "mostly": 0.99},
                RuleId.ENTRY_INVALID_AMOUNT,
            ),
            customs[0],
            _spec(
                "expect_column_values_to_be_in_set",
                {"column": "account_check", "value_set": ["debit", "credit"]},
                RuleId.ENTRY_UNKNOWN_ACCOUNT,
            ),
        ),
    )
    frames = ledger_from_text(DAMAGED)
    with monkeypatch.context() as whole:
        _whole(whole)
        expected = check_invariants(frames, VerifySpec(), suites=[suite])
    monkeypatch.setattr(gx_suites, "CHUNK_ROWS", 3)
    heights: list[int] = []
    export = gx_suites.to_pandas

    def spy(frame: pl.DataFrame, columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        heights.append(frame.height)
        return export(frame, columns)

    monkeypatch.setattr(gx_suites, "to_pandas", spy)
    found = check_invariants(frames, VerifySpec(), suites=[suite])
    assert found.findings.equals(expected.findings, null_equal=True)
    assert found.coverage == expected.coverage
    assert heights[0] == prepare_legs(frames).height  # every row for the one that needs it
    assert max(heights[1:]) <= 3  # the in-set expectation still runs slice by slice
    assert {"entry.unbalanced", "entry.unknown_account"} <= set(found.findings["rule"])


def test_no_batch_frame_is_fingerprinted(monkeypatch: pytest.MonkeyPatch) -> None:
    """GX's batch fingerprint (a hash of every slice, twice) is never computed: nothing reads it."""
    hashed: list[int] = []

    def spy(frame: pd.DataFrame) -> str:
        hashed.append(len(frame))
        return "spied"

    monkeypatch.setattr(gx_pandas_engine, "hash_pandas_dataframe", spy)
    monkeypatch.setattr(gx_suites, "CHUNK_ROWS", 2)
    found = check_invariants(ledger_from_text(DAMAGED), VerifySpec())
    assert set(found.findings["rule"]) >= BUILT_IN_RULES  # the slices were validated
    assert hashed == []
