"""Explanations merged into a flux review, overrides read exactly, the reader's rows."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.analytics.flux import FluxReport, FluxSpec, Threshold
from ledger_audit.analytics.flux_explanations import merge_explanations
from ledger_audit.analytics.flux_params import overrides_from_toml, percent_bp
from ledger_audit.errors import InputError
from ledger_audit.sources.flux_explanations import EXPLANATIONS_SCHEMA, read_explanations
from ledger_audit.spec import Period

SPEC = FluxSpec(Period.month("2025-02"), Period.month("2025-01"))
ROWS = [  # ledger, GL account, asset, flagged
    ("a", "1010", "USD/2", True),
    ("b", "1010", "USD/2", True),
    ("a", "2010", "USD/2", False),
    ("a", "2010", "EUR/2", True),
]


def report(rows: list[tuple[str, str, str, bool]] = ROWS) -> FluxReport:
    variances = pl.DataFrame(
        rows, schema=["ledger_id", "gl_account", "asset_id", "explain"], orient="row"
    ).with_columns(
        pl.lit(Decimal(500), pl.Decimal(38, 0)).alias("delta"),
        pl.lit("and").alias("mode"),
        pl.lit(value=False).alias("new_activity"),
        pl.lit(value=False).alias("trend"),
        pl.lit(None, pl.String()).alias("explanation"),
        pl.lit(None, pl.String()).alias("explained_by"),
    )
    return FluxReport(SPEC, variances, pl.DataFrame())


def given_rows(*rows: tuple[str | None, str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            (ledger, gl, asset, text, "ann", f"f.csv:{i}")
            for i, (ledger, gl, asset, text) in enumerate(rows, start=2)
        ],
        schema=EXPLANATIONS_SCHEMA,
        orient="row",
    )


def explanation_of(merged: pl.DataFrame, ledger: str, gl: str, asset: str) -> str | None:
    (row,) = merged.filter(
        (pl.col("ledger_id") == ledger)
        & (pl.col("gl_account") == gl)
        & (pl.col("asset_id") == asset)
    ).to_dicts()
    return row["explanation"]  # type: ignore[no-any-return]


def test_a_ledger_specific_explanation_wins_and_the_other_is_reported() -> None:
    explained = merge_explanations(
        report(),
        given_rows((None, "1010", "USD/2", "both ledgers"), ("b", "1010", "USD/2", "ledger b")),
    )
    merged = explained.report.variances
    assert explanation_of(merged, "a", "1010", "USD/2") == "both ledgers"
    assert explanation_of(merged, "b", "1010", "USD/2") == "ledger b"
    assert explained.unused.height == 0
    counts = explained.counts()
    assert (counts["flagged"], counts["explained"], counts["unexplained"]) == (3, 2, 1)
    assert explained.findings["rule"].to_list() == ["flux.unexplained"]
    assert explained.findings["locator"].to_list() == ["flux(gl_account=2010, asset_id=EUR/2)"]


def test_a_second_explanation_of_a_row_is_reported_with_the_one_used() -> None:
    explained = merge_explanations(
        report(),
        given_rows(("a", "2010", "EUR/2", "first"), ("a", "2010", "EUR/2", "second")),
    )
    assert explanation_of(explained.report.variances, "a", "2010", "EUR/2") == "first"
    assert explained.unused.select("where", "reason").rows() == [
        ("f.csv:3", "another explanation of 2010 EUR/2 is used (f.csv:2)")
    ]


def test_an_unflagged_row_keeps_its_explanation_but_it_is_reported() -> None:
    explained = merge_explanations(report(), given_rows(("a", "2010", "USD/2", "seasonal")))
    assert explanation_of(explained.report.variances, "a", "2010", "USD/2") == "seasonal"
    assert explained.counts()["explained"] == 0
    assert explained.unused["reason"].to_list() == [
        "GL account 2010 USD/2 is not flagged: its variance is under the threshold"
    ]
    assert explained.findings.filter(pl.col("rule") == "flux.explanation_unused")[
        "locator"
    ].to_list() == ["f.csv:2"]


KEYS = st.tuples(
    st.sampled_from([None, "a", "b", "c"]),
    st.sampled_from(["1010", "2010", "9999"]),
    st.sampled_from(["USD/2", "EUR/2"]),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(KEYS, max_size=8))
def test_every_explanation_is_used_or_reported(keys: list[tuple[str | None, str, str]]) -> None:
    rows = [(ledger, gl, asset, f"e{i}") for i, (ledger, gl, asset) in enumerate(keys, start=2)]
    explained = merge_explanations(report(), given_rows(*rows))
    merged = explained.report.variances
    assert merged.height == len(ROWS)  # never a row more or less
    flagged = merged.filter(pl.col("explain"))
    used = set(flagged["explanation"].drop_nulls())
    reported = {f"e{w.split(':')[1]}" for w in explained.unused["where"]}
    # each input row explains a flagged row or is reported, never both, never neither
    assert used.isdisjoint(reported)
    assert used | reported == {text for *_, text in rows}
    counts = explained.counts()
    assert counts["explained"] + counts["unexplained"] == counts["flagged"] == flagged.height
    assert (
        explained.findings.filter(pl.col("rule") == "flux.unexplained").height
        == (counts["unexplained"])
    )


@pytest.mark.parametrize(
    ("text", "bp"), [("10", 1_000), ("12.5", 1_250), ("0.01", 1), ("7%", 700), ("0", 0)]
)
def test_a_percent_is_read_exactly(text: str, bp: int) -> None:
    assert percent_bp(text, "--percent") == bp


@pytest.mark.parametrize("text", ["12.345", "-1", "ten", "nan", "inf"])
def test_a_percent_that_is_not_exact_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="--percent"):
        percent_bp(text, "--percent")


def test_overrides_keep_the_report_level_for_what_they_leave_out() -> None:
    text = '["4010"]\nmode = "or"\n\n[2010]\npercent = 2.5\namount = 7\n'
    import tomllib

    base = Threshold("and", 100, 1_000)
    assert overrides_from_toml(tomllib.loads(text), text, "o.toml", base) == (
        ("2010", Threshold("and", 7, 250)),
        ("4010", Threshold("or", 100, 1_000)),
    )


def test_the_reader_takes_asset_or_asset_id_and_skips_blank_rows(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(
        "\ufeffGL_Account,asset_id,explanation,explained_by,ledger_id\n"
        "2010,USD/2,Top-ups,ann,\n"
        "1010,USD/2,,ann,demo\n"
        '4010,EUR/2,"Fees, as budgeted",,demo\n',
        encoding="utf-8",
    )
    read = read_explanations(path)
    assert read.rows() == [
        (None, "2010", "USD/2", "Top-ups", "ann", f"{path}:2"),
        ("demo", "4010", "EUR/2", "Fees, as budgeted", None, f"{path}:4"),
    ]
