"""Exceptions for a reader: most severe first, then the largest amount, in a total order."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.findings import Finding, Severity, findings_frame
from ledger_audit.money import humanise_amounts
from ledger_audit.reports.exceptions import (
    _bare_difference,
    _magnitude_key,
    _magnitude_keys,
    by_severity,
    finding_amount,
    readable_findings,
)


def _finding(
    rule: str,
    severity: Severity,
    *,
    difference: str | None = None,
    actual: str | None = None,
    message: str = "m",
    asset_id: str | None = None,
    seq: int | None = None,
) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        ledger_id="demo",
        locator=f"transactions(chain_seq={seq})",
        message=message,
        actual=actual,
        difference=difference,
        asset_id=asset_id,
        chain_seq=seq,
    )


FINDINGS = [
    _finding("recon.in_transit", Severity.INFO, message="item: -350831 USD/2 on X"),
    _finding("recon.missing_external", Severity.HIGH, message="item: 626533 USD/2 on X"),
    _finding("recon.amount_mismatch", Severity.HIGH, difference="399", asset_id="USD/2"),
    _finding("balance.drift", Severity.HIGH, difference="posted_credits -468 USD/2"),
    _finding("idempotency.conflict", Severity.HIGH, message="no amount"),
    _finding("chain.tampered", Severity.CRITICAL, seq=9),
    _finding("chain.deleted", Severity.CRITICAL, seq=3),
    _finding("payment.duplicate_suspected", Severity.MEDIUM, actual="5 JPY/0"),
    _finding("recon.suggested_match", Severity.LOW, difference="0", asset_id="EUR/2"),
    _finding("reversal.not_inverse", Severity.HIGH, difference="-100000 JPY/0"),
]


def test_most_severe_first_then_largest_amount_then_the_canonical_order() -> None:
    ordered = by_severity(findings_frame(FINDINGS))
    assert ordered["rule"].to_list() == [
        "chain.deleted",  # two criticals without amounts: the canonical order (rule)
        "chain.tampered",
        "reversal.not_inverse",  # 100,000 JPY
        "recon.missing_external",  # 6,265.33 USD
        "balance.drift",  # 4.68 USD
        "recon.amount_mismatch",  # 3.99 USD
        "idempotency.conflict",  # no amount: last of its severity
        "payment.duplicate_suspected",
        "recon.suggested_match",
        "recon.in_transit",
    ]
    assert ordered.columns == findings_frame(FINDINGS).columns


@settings(max_examples=25, deadline=None)
@given(st.permutations(FINDINGS))
def test_the_order_does_not_depend_on_the_input_order(shuffled: list[Finding]) -> None:
    frame = pl.DataFrame(
        [{c: getattr(f, c) for c in findings_frame([]).columns} for f in shuffled],
        schema=findings_frame([]).schema,
    )
    assert by_severity(frame).equals(by_severity(findings_frame(FINDINGS)))


def test_finding_amount_reads_difference_then_actual_then_message() -> None:
    assert finding_amount("399", None, "x", "USD/2") == (399, "USD/2")
    assert finding_amount("posted -468 USD/2", "1 USD/2", "x", None) == (-468, "USD/2")
    assert finding_amount(None, "-3945 USD/2", "12 EUR/2", None) == (-3945, "USD/2")
    assert finding_amount(None, None, "seq 287 is missing", "USD/2") is None


def test_readable_findings_write_amounts_for_a_reader() -> None:
    readable = readable_findings(by_severity(findings_frame(FINDINGS)))
    rows = {r["rule"]: r for r in readable.iter_rows(named=True)}
    assert rows["recon.missing_external"]["message"] == "item: 6,265.33 USD on X"
    assert rows["recon.amount_mismatch"]["difference"] == "3.99 USD"
    assert rows["balance.drift"]["difference"] == "posted_credits -4.68 USD"
    assert rows["reversal.not_inverse"]["difference"] == "-100,000 JPY"
    assert rows["recon.suggested_match"]["difference"] == "0.00 EUR"


_PIECES = st.sampled_from(
    [
        "12 USD/2",
        "-350 EUR/2",
        "007 JPY/0",
        "5 BTC/8",
        "1 X/99",
        "3 USD/234",
        "2 usd/2",
        "x",
        "a-",
        ".",
        "/",
        " ",
        ", ",
        "_",
        "9",
        "٣",  # an Arabic-Indic digit: \d matches it, int() reads it
        "é",
        "USD/2",
        "\n",
    ]
)
_TEXT = st.one_of(st.none(), st.lists(_PIECES, max_size=6).map("".join))


def _reference_key(row: tuple[str | None, str | None, str | None, str | None]) -> str:
    return _magnitude_key(finding_amount(*row))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(_TEXT, _TEXT, _TEXT, st.sampled_from([None, "USD/2", "JPY/0", "EUR/3"])),
        min_size=1,
        max_size=20,
    )
)
def test_the_column_wise_amounts_are_the_python_definition(
    rows: list[tuple[str | None, str | None, str | None, str | None]],
) -> None:
    """Amounts next to dots, slashes, letters, other amounts or non-ASCII digits: the
    column-wise keys are :func:`finding_amount`'s, row by row, and so is the rewriting."""
    frame = pl.DataFrame(
        rows,
        schema={
            "difference": pl.String,
            "actual": pl.String,
            "message": pl.String,
            "asset_id": pl.String,
        },
        orient="row",
    )
    assert _magnitude_keys(frame).to_list() == [_reference_key(row) for row in rows]
    readable = readable_findings(frame.with_columns(pl.lit("e").alias("expected")))
    for (difference, actual, message, asset), got in zip(
        rows, readable.iter_rows(named=True), strict=True
    ):
        bare = _bare_difference(difference, asset)
        assert got["difference"] == (None if bare is None else humanise_amounts(bare))
        assert got["actual"] == (None if actual is None else humanise_amounts(actual))
        assert got["message"] == (None if message is None else humanise_amounts(message))
