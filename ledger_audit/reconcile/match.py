"""The reconciliation: ledger items against bank records, stage by stage, then the rest.

``reconcile(items, records, rules, as_of=...)`` puts both sides in a total order
(``normalise.prepare``), runs the matching stages of DESIGN.md section 7 each on what the
previous ones left open, classifies and ages the rest (``breaks``) and returns a
:class:`Reconciliation`: frames and findings, the same whatever order the rows came in.

Stages run in the order ``key``, ``group``, ``exact``, ``scored``, ``subset`` and record the
DESIGN.md stage number (1, 4, 2, 3, 5). Keyed groups run second, before the amount-only
stages, so that a batch whose key proves its members is never broken up because one of its
totals happens to equal an unrelated item's amount (an exact-amount coincidence would
otherwise auto-match first).

A suggested match takes its members out of the later stages and out of the breaks: it is
listed in ``matches`` with status ``suggested`` and raised as a finding
(``recon.suggested_match``, or ``recon.ambiguous_batch`` for an ambiguous subset-sum) for
a person to confirm.

**The period.** Given a ``window`` (``normalise.Window``: the period's first and last day and
a lookback, ``MatchRules.lookback_days`` in the close), a record booked after the last day,
or before the first day by more than the lookback, is not matched against the period's
ledger items, and neither is an item dated outside those days: both belong to another
period's reconciliation. Inside the lookback (the days before the first day), records and
items still match: an item in transit at the previous period's end meets its bank line
here. A ledger item dated before the first day that nothing here matches is not a break of
this period (it was the previous close's: matched there, or reported there) and is counted
with the rest. The coverage says how many records and items were left out, never silently.
An item in transit across the period's end (its bank line books after the last day) is open
here and classifies as ``in_transit``: the bank's last in-period day is before its window
closes.

**Processor payouts.** Records of a processor account (``processor = true`` in the rules)
that name a payout are tied out per payout, three ways (``payouts``): its gross, fees and
refunds against the ledger items matched to them, its net against the ledger's payout item
and against the bank line that names the payout. ``payouts`` lists every payout; an untied
one is a ``recon.payout_untied`` finding, which replaces the findings of its own open
records and ledger payout item (their break rows stay).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from ledger_audit.findings import FINDINGS_SCHEMA, Coverage, Severity, findings_from, sort_findings
from ledger_audit.reconcile.aging import AGING_SCHEMA, aging
from ledger_audit.reconcile.breaks import (
    BREAK_SCHEMA,
    CLASS_RULES,
    RECON_AMBIGUOUS_BATCH,
    RECON_SUGGESTED_MATCH,
    classify,
)
from ledger_audit.reconcile.normalise import Window, WorkFrames, prepare
from ledger_audit.reconcile.payouts import PAYOUT_SCHEMA, tie_out
from ledger_audit.reconcile.stages import (
    AUTO,
    SUGGESTED,
    Found,
    exact_stage,
    group_stage,
    key_stage,
    scored_stage,
)
from ledger_audit.reconcile.subset_sum import subset_stage
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources.match_rules import MatchRules

CHECK = "reconcile"

MATCH_SCHEMA: dict[str, pl.DataType] = {
    "match_id": pl.String(),
    "stage": pl.Int8(),
    "stage_name": pl.String(),
    "rule": pl.String(),
    "score": pl.Float64(),
    "status": pl.String(),
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "internal_count": pl.UInt32(),
    "external_count": pl.UInt32(),
    "internal_amount": WIDE_AMOUNT,
    "external_amount": WIDE_AMOUNT,
    "difference": WIDE_AMOUNT,
}
"""One row per match. ``match_id`` is ``<stage name>/<smallest ledger item id>`` (an item is
in one match at most, so it is unique and does not depend on input order); ``difference`` is
external minus internal amount (non-zero only within a stage-3 tolerance). The amounts are
exact Decimal(38, 0) sums of the match's members (an Int64 sum wraps past 2^63 - 1)."""

LINK_SCHEMA: dict[str, pl.DataType] = {
    "match_id": pl.String(),
    "side": pl.String(),
    "item_id": pl.String(),
    "file": pl.String(),
    "line": pl.Int64(),
}
"""Match members: ``side`` ``internal`` (``item_id`` a ledger item id) or ``external``
(``item_id`` the record_id, with its file and line). Many-to-many fits."""

RATE_SCHEMA: dict[str, pl.DataType] = {
    "stage": pl.Int8(),
    "stage_name": pl.String(),
    "status": pl.String(),
    "matches": pl.UInt32(),
    "internal_items": pl.UInt32(),
    "external_records": pl.UInt32(),
    "internal_share": pl.Float64(),
    "external_share": pl.Float64(),
}
"""Per stage and status: matches, members matched and their share of all items / records."""


@dataclass(frozen=True, slots=True)
class Stage:
    """One matching stage.

    Attributes:
        number: its number in DESIGN.md section 7.
        name: short name, the prefix of its rules and match ids.
    """

    number: int
    name: str


STAGES = (
    Stage(1, "key"),
    Stage(4, "group"),
    Stage(2, "exact"),
    Stage(3, "scored"),
    Stage(5, "subset"),
)
"""The stages in the order they run (see the module docstring for why groups run second)."""

StageRunner = Callable[[Stage, pl.DataFrame, pl.DataFrame, MatchRules], Found]
"""Runs one stage over the open ledger items and records (``normalise.WorkFrames`` rows)."""

SEVERITIES: dict[str, Severity] = {
    "missing_internal": Severity.HIGH,
    "missing_external": Severity.HIGH,
    "amount_mismatch": Severity.HIGH,
    "duplicate": Severity.HIGH,
    "reversal": Severity.MEDIUM,
    "in_transit": Severity.INFO,
    "unmapped_account": Severity.HIGH,
    "not_booked": Severity.INFO,
}

_MESSAGES: dict[str, str] = {
    "missing_internal": "bank record with no ledger item",
    "missing_external": "ledger item with no bank record",
    "amount_mismatch": "reference shared with a counterpart of another amount",
    "duplicate": "bank record identical to another record",
    "reversal": "reversal or offsetting pair left unmatched",
    "in_transit": "ledger item whose bank record may still arrive",
    "unmapped_account": "bank record on an account the rules do not map",
    "not_booked": "bank record not booked (pending or information only)",
}


@dataclass(frozen=True, slots=True, eq=False)
class Reconciliation:
    """The outcome of one reconciliation: values, rendered elsewhere.

    Attributes:
        as_of: the day ages are counted to.
        rules_version: the version of the rules used.
        matches: MATCH_SCHEMA, sorted by match_id.
        links: LINK_SCHEMA, sorted by match_id, side, item_id, file.
        breaks: breaks.BREAK_SCHEMA, one row per unmatched item or record.
        aging: aging.AGING_SCHEMA.
        rates: RATE_SCHEMA, stages in their running order.
        findings: FINDINGS_SCHEMA: one per break and per suggested match.
        coverage: what was examined.
        payouts: payouts.PAYOUT_SCHEMA: the processor payouts tied out three ways.
        window: the days reconciled (None: every record and item, whatever its date).
    """

    as_of: dt.date
    rules_version: str
    matches: pl.DataFrame
    links: pl.DataFrame
    breaks: pl.DataFrame
    aging: pl.DataFrame
    rates: pl.DataFrame
    findings: pl.DataFrame
    coverage: Coverage
    payouts: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=PAYOUT_SCHEMA))
    window: Window | None = None

    def __post_init__(self) -> None:
        for name, frame, schema in (
            ("matches", self.matches, MATCH_SCHEMA),
            ("links", self.links, LINK_SCHEMA),
            ("breaks", self.breaks, BREAK_SCHEMA),
            ("aging", self.aging, AGING_SCHEMA),
            ("rates", self.rates, RATE_SCHEMA),
            ("findings", self.findings, FINDINGS_SCHEMA),
            ("payouts", self.payouts, PAYOUT_SCHEMA),
        ):
            if dict(frame.schema) != schema:
                raise ValueError(f"{name} schema {dict(frame.schema)} is not {schema}")

    def frames(self) -> dict[str, pl.DataFrame]:
        """The frames by name (for writers and for comparing two runs)."""
        return {
            "matches": self.matches,
            "links": self.links,
            "breaks": self.breaks,
            "aging": self.aging,
            "rates": self.rates,
            "findings": self.findings,
            "payouts": self.payouts,
        }


def reconcile(
    items: pl.DataFrame,
    records: pl.DataFrame,
    rules: MatchRules,
    *,
    as_of: dt.date,
    window: Window | None = None,
    on_stage: Callable[[str], None] | None = None,
    run: StageRunner | None = None,
) -> Reconciliation:
    """Match ledger items (``internal.INTERNAL_SCHEMA``) to records (``RECORD_SCHEMA``).

    ``window`` cuts both sides to a period (see the module docstring); None reconciles
    everything given. ``on_stage`` is called with a step's name after each step
    (``prepare``, every stage, ``classify``), for progress and benchmarks; it cannot change
    the result. ``run`` runs one stage on the open items and records (default
    :func:`run_stage`, on frames; ``spark.reconcile`` runs the keyed stages on Spark and
    must return the same ``Found``).
    """
    report = on_stage or (lambda _name: None)
    run_one = run or run_stage
    work = prepare(items, records, rules, window=window)
    report("prepare")
    open_i, open_x = work.internal, work.external
    found: list[tuple[Stage, Found]] = []
    for stage in STAGES:
        result = run_one(stage, open_i, open_x, rules)
        found.append((stage, result))
        links = result.links
        open_i = open_i.filter(
            ~pl.col("i").is_in(links.filter(pl.col("side") == "internal")["idx"].implode())
        )
        open_x = open_x.filter(
            ~pl.col("x").is_in(links.filter(pl.col("side") == "external")["idx"].implode())
        )
        report(stage.name)
    matches, links = _assemble(found, work)
    earlier = 0
    if window is not None:  # an earlier period's open item is that period's break
        before = pl.col("date") < pl.lit(window.first_day)
        earlier = open_i.filter(before).height
        open_i = open_i.filter(~before)
    matched_x = work.external.filter(~pl.col("x").is_in(open_x["x"].implode()))["x"]
    breaks = classify(
        open_i, open_x, work.excluded, work.external, matched_x, rules=rules, as_of=as_of
    )
    payouts, payout_findings, absorbed = tie_out(work, matches, links, open_i, rules)
    own = breaks.join(absorbed, on=["side", "item_id", "file"], how="anti", nulls_equal=True)
    findings = sort_findings(
        pl.concat([_break_findings(own), _match_findings(matches), payout_findings])
    )
    report("classify")
    total_x = work.external.height + work.excluded.height
    unproven = []
    if matches.filter(pl.col("status") == SUGGESTED).height:
        unproven.append("suggested matches are proposals until a person confirms them")
    if work.excluded.height:
        unproven.append("records on unmapped accounts or not booked were not matched")
    if window is not None and (work.outside_records or work.outside_items or earlier):
        unproven.append(
            f"{work.outside_records:,} record(s) and {work.outside_items + earlier:,} ledger "
            f"item(s) outside the period {window.first_day}..{window.last_day} (lookback "
            f"{window.lookback} day(s)), not reconciled"
        )
    scope = f"{len(rules.accounts)} mapped account(s)"
    if window is not None:
        scope += f", {window.first_day.isoformat()} to {window.last_day.isoformat()}"
    return Reconciliation(
        as_of=as_of,
        rules_version=rules.version,
        matches=matches,
        links=links,
        breaks=breaks,
        aging=aging(breaks),
        rates=_rates(links, matches, work.internal.height, total_x),
        findings=findings,
        coverage=Coverage(
            checked=work.internal.height + total_x,
            unit="ledger items and bank records",
            scope=f"{scope}, as of {as_of.isoformat()}, rules {rules.version}",
            unproven=tuple(unproven),
        ),
        payouts=payouts,
        window=window,
    )


def run_stage(
    stage: Stage, internal: pl.DataFrame, external: pl.DataFrame, rules: MatchRules
) -> Found:
    """One stage on the frames, over the open items and records (nothing when a side is empty)."""
    if not internal.height or not external.height:
        return Found.none()
    if stage.name == "key":
        return key_stage(internal, external)
    if stage.name == "group":
        return group_stage(internal, external)
    if stage.name == "exact":
        return exact_stage(internal, external)
    if stage.name == "scored":
        return scored_stage(internal, external, rules)
    return subset_stage(internal, external, rules)


def _assemble(
    found: list[tuple[Stage, Found]], work: WorkFrames
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """MATCH_SCHEMA and LINK_SCHEMA frames from every stage's matches."""
    members = {
        "internal": work.internal.select(
            pl.col("i").alias("idx"),
            "item_id",
            pl.lit(None, dtype=pl.String()).alias("file"),
            pl.lit(None, dtype=pl.Int64()).alias("line"),
            "account_ref",
            "asset_id",
            "amount",
        ),
        "external": work.external.select(
            pl.col("x").alias("idx"),
            pl.col("record_id").alias("item_id"),
            "file",
            "line",
            "account_ref",
            "asset_id",
            "amount",
        ),
    }
    all_links: list[pl.DataFrame] = []
    all_matches: list[pl.DataFrame] = []
    for stage, result in found:
        if not result.matches.height:
            continue
        joined = pl.concat(
            [
                result.links.filter(pl.col("side") == side).join(frame, on="idx", how="inner")
                for side, frame in members.items()
            ]
        )
        internal = pl.col("side") == "internal"
        per_match = (
            joined.group_by("gid")
            .agg(
                pl.concat_str(
                    pl.lit(f"{stage.name}/"), pl.col("item_id").filter(internal).min()
                ).alias("match_id"),
                pl.col("account_ref").min(),
                pl.col("asset_id").min(),
                internal.sum().cast(pl.UInt32()).alias("internal_count"),
                (~internal).sum().cast(pl.UInt32()).alias("external_count"),
                pl.col("amount").cast(WIDE_AMOUNT).filter(internal).sum().alias("internal_amount"),
                pl.col("amount").cast(WIDE_AMOUNT).filter(~internal).sum().alias("external_amount"),
            )
            .join(result.matches, on="gid")
            .with_columns(
                pl.lit(stage.number, dtype=pl.Int8()).alias("stage"),
                pl.lit(stage.name).alias("stage_name"),
                (pl.col("external_amount") - pl.col("internal_amount")).alias("difference"),
            )
        )
        all_matches.append(per_match.select(list(MATCH_SCHEMA)))
        all_links.append(
            joined.join(per_match.select("gid", "match_id"), on="gid").select(list(LINK_SCHEMA))
        )
    if not all_matches:
        return pl.DataFrame(schema=MATCH_SCHEMA), pl.DataFrame(schema=LINK_SCHEMA)
    matches = pl.concat(all_matches).cast(pl.Schema(MATCH_SCHEMA)).sort("match_id")
    links = (
        pl.concat(all_links).cast(pl.Schema(LINK_SCHEMA)).sort(list(LINK_SCHEMA), nulls_last=False)
    )
    return matches, links


def _rates(links: pl.DataFrame, matches: pl.DataFrame, items: int, records: int) -> pl.DataFrame:
    grid = pl.DataFrame(
        [
            (order, stage.number, stage.name, status)
            for order, stage in enumerate(STAGES)
            for status in (AUTO, SUGGESTED)
        ],
        schema={
            "_order": pl.Int32(),
            "stage": pl.Int8(),
            "stage_name": pl.String(),
            "status": pl.String(),
        },
        orient="row",
    )
    counted = (
        links.join(matches.select("match_id", "stage_name", "status"), on="match_id")
        .group_by("stage_name", "status")
        .agg(
            pl.col("match_id").n_unique().cast(pl.UInt32()).alias("matches"),
            (pl.col("side") == "internal").sum().cast(pl.UInt32()).alias("internal_items"),
            (pl.col("side") == "external").sum().cast(pl.UInt32()).alias("external_records"),
        )
    )

    def share(column: str, total: int) -> pl.Expr:
        return (pl.col(column).cast(pl.Float64()) / total if total else pl.lit(0.0)).alias(
            column.split("_", maxsplit=1)[0] + "_share"
        )

    return (
        grid.join(counted, on=["stage_name", "status"], how="left")
        .with_columns(pl.col("matches", "internal_items", "external_records").fill_null(0))
        .with_columns(share("internal_items", items), share("external_records", records))
        .sort("_order", "status")
        .select(list(RATE_SCHEMA))
        .cast(pl.Schema(RATE_SCHEMA))
    )


def _amount_text(amount: pl.Expr) -> pl.Expr:
    return pl.concat_str(amount.cast(pl.String()), pl.lit(" "), pl.col("asset_id"))


def _break_findings(breaks: pl.DataFrame) -> pl.DataFrame:
    frames: list[pl.DataFrame] = []
    internal = pl.col("side") == "internal"
    locator = (
        pl.when(internal)
        .then(pl.concat_str(pl.lit("entries(item_id="), pl.col("item_id"), pl.lit(")")))
        .otherwise(pl.concat_str(pl.col("file"), pl.lit(":"), pl.col("line").cast(pl.String())))
    )
    for name, rule in CLASS_RULES.items():
        rows = breaks.filter(pl.col("class") == name)
        if not rows.height:
            continue
        message = pl.concat_str(
            pl.lit(_MESSAGES[name] + ": "),
            _amount_text(pl.col("amount")),
            pl.lit(" on "),
            pl.col("account_ref"),
            pl.lit(", dated "),
            pl.col("date").cast(pl.String()),
            pl.lit(", "),
            pl.col("age_days").cast(pl.String()),
            pl.lit(" days old"),
            pl.when(pl.col("counterpart").is_not_null())
            .then(pl.concat_str(pl.lit(" (counterpart "), pl.col("counterpart"), pl.lit(")")))
            .otherwise(pl.lit("")),
        )
        frames.append(
            findings_from(
                rows.lazy(),
                rule=rule,
                severity=SEVERITIES[name],
                check=CHECK,
                table=None,
                message=message,
                expected=pl.when(internal)
                .then(pl.lit("a bank record"))
                .otherwise(pl.lit("a ledger item")),
                actual=pl.col("class"),
                difference=pl.col("difference"),
                locator=locator,
            ).collect()
        )
    return pl.concat(frames) if frames else pl.DataFrame(schema=FINDINGS_SCHEMA)


def _match_findings(matches: pl.DataFrame) -> pl.DataFrame:
    suggested = matches.filter(pl.col("status") == SUGGESTED)
    frames = []
    for rule, severity, picked in (
        (RECON_AMBIGUOUS_BATCH, Severity.MEDIUM, pl.col("rule") == "subset:ambiguous"),
        (RECON_SUGGESTED_MATCH, Severity.LOW, pl.col("rule") != "subset:ambiguous"),
    ):
        rows = suggested.filter(picked)
        if not rows.height:
            continue
        frames.append(
            findings_from(
                rows.lazy(),
                rule=rule,
                severity=severity,
                check=CHECK,
                table=None,
                message=pl.concat_str(
                    pl.lit("suggested match ("),
                    pl.col("rule"),
                    pl.lit(", score "),
                    pl.col("score").round(3).cast(pl.String()),
                    pl.lit("): "),
                    pl.col("internal_count").cast(pl.String()),
                    pl.lit(" ledger item(s) for "),
                    pl.col("external_count").cast(pl.String()),
                    pl.lit(" bank record(s)"),
                ),
                expected=_amount_text(pl.col("internal_amount")),
                actual=_amount_text(pl.col("external_amount")),
                difference=pl.col("difference"),
                locator=pl.concat_str(pl.lit("matches(match_id="), pl.col("match_id"), pl.lit(")")),
            ).collect()
        )
    return pl.concat(frames) if frames else pl.DataFrame(schema=FINDINGS_SCHEMA)
