"""The close's Benford tests: first digits and first-two digits of the period's amounts.

The population is the entry amounts (exact integer minor units, per asset, never added
across assets) of the transactions posted in the period: each transaction's latest version,
posted, effective in the period. The tests are the Benford suite's (``analytics.benford``)
with its defaults (Nigrini's convention, positive amounts, at least 300 amounts over two
orders of magnitude, else "not applicable" with the reason). A population that does not
conform is a ``benford.nonconformity`` finding (low: a pointer for the tester, kept out of
the close's verdict like every analytic); one that is not applicable is stated in the
coverage, never a pass.

Tables: ``Benford summary`` (one row per test x asset) and ``Benford bins`` (one row per
test x asset x digit, with Z and the suspect flag), workpaper sheets and
``tables/benford_summary`` and ``tables/benford_bins``.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.analytics.benford.suite import BenfordResult, SuiteTest, benford_suite
from ledger_audit.exports.tables import Table
from ledger_audit.findings import CheckResult, Coverage, Severity, empty_findings, findings_from
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import Period

BENFORD_CHECK = "analytics.benford"
NONCONFORMITY = "benford.nonconformity"
CLOSE_TESTS: tuple[SuiteTest, ...] = ("first", "first_two")
_TEST_NAMES = {"first": "first digits", "first_two": "first-two digits"}


def period_amounts(frames: LedgerFrames, period: Period) -> pl.DataFrame:
    """``asset_id``, ``amount``: the entries of the period's posted transactions."""
    latest = (
        frames.transactions.lazy()
        .select("ledger_id", "transaction_id", "version", "status", "effective_ns")
        .group_by("ledger_id", "transaction_id")
        .agg(pl.all().sort_by("version").last())
        .filter(
            (pl.col("status") == "posted")
            & pl.col("effective_ns").is_between(period.start_ns, period.end_ns - 1)
        )
    )
    return (
        frames.entries.lazy()
        .join(latest, on=["ledger_id", "transaction_id", "version"], how="semi")
        .select("asset_id", "amount")
        .collect()
    )


def run_close_benford(frames: LedgerFrames, period: Period) -> tuple[BenfordResult, ...]:
    """The first-digit and first-two-digit tests over the period's amounts, per asset."""
    amounts = period_amounts(frames, period)
    return tuple(benford_suite(amounts, CLOSE_TESTS).values())


def benford_summary(results: tuple[BenfordResult, ...]) -> pl.DataFrame:
    """One row per test x asset: n, MAD, chi-square, conformity or why not applicable."""
    columns = ("asset_id", "n", "excluded", "mad", "chi2", "df", "conformity", "applicable")
    return pl.concat(
        [
            r.summary.select(pl.lit(r.test).alias("test"), *columns, "reason")
            .join(
                r.bins.group_by("asset_id").agg(
                    pl.col("suspect").sum().cast(pl.Int64()).alias("suspects")
                ),
                on="asset_id",
                how="left",
            )
            .with_columns(pl.col("suspects").fill_null(0))
            .sort("asset_id")  # a join keeps no row order unless asked: the table's order
            for r in results
        ]
    )


def benford_tables(results: tuple[BenfordResult, ...]) -> tuple[Table, Table]:
    """(``Benford summary``, ``Benford bins``): see the module docstring."""
    bins = pl.concat([r.bins.select(pl.lit(r.test).alias("test"), pl.all()) for r in results]).drop(
        "amount_sum"
    )
    return (
        Table(
            "Benford summary",
            benford_summary(results),
            note=(
                "MAD conformity bands of Nigrini (2012); fewer than 300 amounts, or a span of "
                "under two orders of magnitude, is not applicable, never a pass."
            ),
        ),
        Table("Benford bins", bins),
    )


def benford_result(results: tuple[BenfordResult, ...], period: Period) -> CheckResult:
    """Coverage (amounts used, tests not applicable) and a finding per nonconformity."""
    if not results:
        return CheckResult(
            BENFORD_CHECK,
            empty_findings(),
            Coverage(0, "entry amounts", "not run", unproven=("the Benford tests did not run",)),
        )
    summary = benford_summary(results)
    applicable = summary.filter(pl.col("applicable"))
    unproven = tuple(
        f"{_TEST_NAMES[test]} of {asset}: {reason}"
        for test, asset, reason in summary.filter(~pl.col("applicable"))
        .select("test", "asset_id", "reason")
        .iter_rows()
    )
    off = applicable.filter(pl.col("conformity") == "nonconformity")
    findings = (
        empty_findings()
        if off.height == 0
        else findings_from(
            off.lazy(),
            rule=NONCONFORMITY,
            severity=Severity.LOW,
            check=BENFORD_CHECK,
            table=None,
            locator=pl.format("benford(test={}, asset_id={})", "test", "asset_id"),
            message=pl.format(
                "the {} of {} amounts in {} do not conform to Benford's law",
                pl.col("test").replace_strict(_TEST_NAMES),
                "asset_id",
                pl.lit(period.label),
            ),
            expected=pl.lit("MAD within the marginally acceptable band"),
            actual=pl.format("MAD {} over {} amounts", pl.col("mad").round(5), "n"),
        ).collect()
    )
    first = summary.filter(pl.col("test") == CLOSE_TESTS[0])
    return CheckResult(
        BENFORD_CHECK,
        findings,
        Coverage(
            checked=int(first["n"].sum()) if applicable.height else 0,
            unit="entry amounts",
            scope=(
                f"{period.label}: {', '.join(_TEST_NAMES[t] for t in CLOSE_TESTS)} per asset, "
                f"{applicable.height} of {summary.height} test x asset applicable"
            ),
            unproven=unproven,
        ),
    )
