"""Stored vs recomputed balances: the ledger's cached ``balances`` against the replay.

Each stored row is compared with the replay on the recorded basis at that row's own
``as_of_ns`` (what the cache claims to reflect); an account x asset that the replay says
has a balance at the ledger's latest ``as_of`` but that has no stored row is drift too.
The cache is a read model: the workbench never trusts it, it reports every difference.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.findings import CheckResult, Coverage, RuleId, Severity, findings_from
from ledger_audit.replay.events import BALANCE_KEY, CELLS, cells_at_points, counted_legs
from ledger_audit.schema.times import iso_expr
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.spec import VerifySpec

CHECK = "balance_drift"


def _cells_text(prefix: str, unit: pl.Expr) -> pl.Expr:
    return pl.concat_str(
        [pl.format(f"{c}={{}} {{}}", pl.col(f"{prefix}{c}"), unit) for c in CELLS],
        separator=", ",
    )


def compare_stored_balances(frames: LedgerFrames) -> pl.LazyFrame:
    """Per stored row (and per replayed balance with no stored row): stored and replayed cells.

    Columns: ledger_id, account_id, asset_id, as_of_ns, ``stored_<cell>`` (null where no row
    is stored), ``replayed_<cell>``, and ``drifted`` (any cell differs).
    """
    stored = frames.balances.lazy()
    legs = counted_legs(frames, "recorded").collect().lazy()  # read twice below
    ledger_as_of = stored.group_by("ledger_id").agg(pl.col("as_of_ns").max())
    latest = (
        legs.select(BALANCE_KEY)
        .unique()
        .join(ledger_as_of, on="ledger_id", how="inner")
        .join(stored.select(BALANCE_KEY), on=list(BALANCE_KEY), how="anti")
    )
    points = pl.concat(
        [
            stored.select(
                *BALANCE_KEY,
                pl.col("as_of_ns"),
                *[pl.col(c).alias(f"stored_{c}") for c in CELLS],
            ),
            latest.select(*BALANCE_KEY, "as_of_ns").with_columns(
                pl.lit(None, dtype=frames.balances.schema[c]).alias(f"stored_{c}") for c in CELLS
            ),
        ]
    ).with_columns(pl.col("as_of_ns").alias("at_ns"))
    replayed = cells_at_points(legs, points).rename({c: f"replayed_{c}" for c in CELLS})
    differs = [pl.col(f"stored_{c}").fill_null(0) != pl.col(f"replayed_{c}") for c in CELLS]
    return (
        replayed.with_columns(pl.any_horizontal(differs).alias("drifted"))
        .drop("at_ns")
        .sort([*BALANCE_KEY, "as_of_ns"])  # one row per key and instant: a total order
    )


def check_balance_drift(frames: LedgerFrames, spec: VerifySpec) -> CheckResult:  # noqa: ARG001 - one signature for every check
    """``balance.drift``: one finding per account x asset whose stored cells differ."""
    compared = compare_stored_balances(frames).collect()
    unit = pl.col("asset_id")
    changed = [
        pl.when(pl.col(f"stored_{c}").fill_null(0) != pl.col(f"replayed_{c}")).then(
            pl.format(
                f"{c} {{}} {{}}",
                pl.col(f"stored_{c}").fill_null(0) - pl.col(f"replayed_{c}"),
                unit,
            )
        )
        for c in CELLS
    ]
    missing = pl.col(f"stored_{CELLS[0]}").is_null()
    replayed_cells = [
        pl.when(pl.col(f"replayed_{c}") != 0).then(
            pl.format(f"{c} {{}} {{}}", pl.col(f"replayed_{c}"), unit)
        )
        for c in CELLS
    ]
    findings = findings_from(
        compared.lazy().filter(pl.col("drifted")),
        rule=RuleId.BALANCE_DRIFT,
        severity=Severity.HIGH,
        check=CHECK,
        table="balances",
        message=pl.when(missing)
        .then(
            pl.format(
                "no stored balance of {} in {}, but the replay as of {} has {}",
                pl.col("account_id"),
                pl.col("asset_id"),
                iso_expr(pl.col("as_of_ns")),
                pl.concat_str(replayed_cells, separator=", ", ignore_nulls=True),
            )
        )
        .otherwise(
            pl.format(
                "stored balance of {} in {} differs from the replay as of {}: stored minus "
                "replayed is {}",
                pl.col("account_id"),
                pl.col("asset_id"),
                iso_expr(pl.col("as_of_ns")),
                pl.concat_str(changed, separator=", ", ignore_nulls=True),
            )
        ),
        expected=_cells_text("replayed_", unit),
        actual=pl.when(missing)
        .then(pl.lit("no stored row"))
        .otherwise(_cells_text("stored_", unit)),
        difference=pl.concat_str(changed, separator=", ", ignore_nulls=True),
    ).collect()
    ledgers = frames.balances["ledger_id"].unique().sort().to_list()
    chained = frames.transactions["ledger_id"].unique().sort().to_list()
    unproven = tuple(
        f"ledger {ledger} has no stored balances: its cache could not be compared"
        for ledger in chained
        if ledger not in ledgers
    )
    coverage = Coverage(
        checked=compared.height,
        unit="balance rows",
        scope=(
            "stored balances of "
            + (", ".join(ledgers) or "no ledger")
            + ", each against the replay on the recorded basis at its own as_of"
        ),
        unproven=unproven,
    )
    return CheckResult(CHECK, findings, coverage)
