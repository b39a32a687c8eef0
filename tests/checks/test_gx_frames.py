"""The frame path hands GX an Arrow-backed pandas frame and reads it back exactly."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from ledger_audit.checks import gx_suites
from ledger_audit.checks.invariant_rules import prepare_legs
from ledger_audit.checks.invariants import check_invariants
from ledger_audit.spec import VerifySpec
from tests.checks.test_wide_amounts import LEDGER, _wide_frames
from tests.text_ledger import ledger_from_text


@pytest.mark.parametrize("wide", [False, True])
def test_the_batch_frame_holds_arrow_buffers_and_round_trips(*, wide: bool) -> None:
    frames = _wide_frames() if wide else ledger_from_text(LEDGER)
    legs = prepare_legs(frames)
    batch = gx_suites.to_pandas(legs)
    for name, dtype in batch.dtypes.items():  # no objects: Arrow, or NumPy integers
        nulls = legs.get_column(str(name)).null_count()
        if isinstance(dtype, pd.ArrowDtype):
            assert not (pa.types.is_int64(dtype.pyarrow_dtype) and nulls == 0), name
        else:
            assert dtype == "int64", name
            assert nulls == 0, name
    assert batch["version"].dtype == "int64"  # GX compares NumPy integers vectorised
    back = gx_suites.from_pandas(batch)  # not registered: converted from its Arrow columns
    assert back.equals(legs.cast(back.schema), null_equal=True)
    assert back.schema["amount"] == legs.schema["amount"]


class _Forgetful(dict[int, object]):
    """A registry that keeps nothing: every metric converts the batch frame itself."""

    def __setitem__(self, key: int, value: object) -> None:
        del key, value

    def __delitem__(self, key: int) -> None:
        del key


@pytest.mark.parametrize("wide", [False, True])
def test_reading_the_registered_frame_finds_what_converting_finds(
    monkeypatch: pytest.MonkeyPatch, *, wide: bool
) -> None:
    frames = _wide_frames() if wide else ledger_from_text(LEDGER)
    registered = check_invariants(frames, VerifySpec())
    assert gx_suites._BATCHES == {}  # emptied after each run
    assert {"entry.unbalanced", "ledger.unbalanced"} <= set(registered.findings["rule"])
    monkeypatch.setattr(gx_suites, "_BATCHES", _Forgetful())
    monkeypatch.setattr(gx_suites, "_sliced", lambda _: False)  # a batch frame with every row
    converted = check_invariants(frames, VerifySpec())
    assert converted.findings.equals(registered.findings, null_equal=True)
    assert converted.coverage == registered.coverage
