"""Errors quote at most a short excerpt of their input, on one line, saying what was cut."""

from __future__ import annotations

import pickle

from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.analytics.sampling.attribute import SamplingInputError
from ledger_audit.errors import EXCERPT_CHARS, REASON_CHARS, InputError, excerpt


@given(st.text(max_size=400), st.integers(1, 120))
def test_an_excerpt_is_one_short_line(text: str, limit: int) -> None:
    cut = excerpt(text, limit)
    assert "\n" not in cut
    assert "\r" not in cut
    if len(cut) > limit:  # cut: a marker saying how many characters are left out
        assert "...[+" in cut
        assert len(cut) <= limit + len(f"...[+{len(text) * 4:,} chars]...")


def test_a_short_text_is_kept_and_a_long_one_keeps_both_ends() -> None:
    assert excerpt("a,b\tc") == "a,b\\tc"
    long = "could not parse `" + "x,y\n" * 1_000_000 + "` is not properly escaped"
    cut = excerpt(long, REASON_CHARS)
    assert cut.startswith("could not parse `x,y\\nx,y")
    assert cut.endswith("` is not properly escaped")
    flat = len(long) + long.count("\n")  # each newline written as two characters
    assert f"...[+{flat - REASON_CHARS:,} chars]..." in cut
    assert len(excerpt(long)) < EXCERPT_CHARS + 25


def test_input_error_caps_its_reason() -> None:
    error = InputError("big.csv", "cannot read: " + "z" * 5_000_000)
    assert len(str(error)) < REASON_CHARS + 60
    assert str(error).startswith("big.csv: cannot read: zzz")
    assert error.locator == "big.csv"


@given(locator=st.text(max_size=700), reason=st.text(max_size=700))
def test_input_error_pickles_back_as_it_was(locator: str, reason: str) -> None:
    """A child process's error is raised again in its parent: the same type, parts and text
    (a cut part is not cut again), subclasses with their own constructor included."""
    for error in (InputError(locator, reason), SamplingInputError(reason)):
        again = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
        assert type(again) is type(error)
        assert (again.locator, again.reason, str(again)) == (
            error.locator,
            error.reason,
            str(error),
        )
        assert again.args == error.args
