"""Processor payouts tied out three ways: ledger <-> processor report <-> bank line.

A processor report (Stripe) lists, per payout, the balance transactions paid out in it
(captures or charges: the ``gross`` part; ``fee`` records: ``fees``; refund categories:
``refunds``) and the payout itself (category ``payout``: its ``net``, what moves to or from
the bank). The matching stages pair each of these records with a ledger item on the
processor's ledger account (``processor = true`` in the rules), one by one (stage 1, on the
source id) or by the payout id (stage 4). This module reads those matches back per payout
(the keyed group of stage 4: account, asset, payout id) and checks that:

- ``gross``, ``fees`` and ``refunds``: every record of the part is in an automatic match and
  the ledger items matched to them add up to the processor's sum (a match whose records
  span parts counts in the part of its first record, by the records' total order);
- ``payout``: the ledger books the payout for the processor's amount: the item matched to
  the payout record, else the only open ledger item on the processor account of a transfer
  to a mapped bank account, of the same sign, inside the widest rail window of its date;
- ``bank``: the bank line of the payout (a record on a mapped bank account of the same asset
  that names the payout id in a reference or its text; the one of opposite amount first, then
  the nearest in date) moves minus the payout's amount.

A payout without a payout record (paid out after the report) is checked on its first three
parts only. Each payout that fails a part is one ``recon.payout_untied`` finding naming
every failing part; its open records and its open ledger payout item are breaks like any
other (their class says what they are), but they raise no finding of their own: the
payout's finding is the one to work.
"""

from __future__ import annotations

import polars as pl

from ledger_audit.findings import FINDINGS_SCHEMA, RuleId, Severity, findings_from
from ledger_audit.reconcile.normalise import STRONG_EXTERNAL, WorkFrames, normalised
from ledger_audit.schema.frames import WIDE_AMOUNT
from ledger_audit.sources.match_rules import MatchRules

RECON_PAYOUT_UNTIED = RuleId.RECON_PAYOUT_UNTIED

PARTS = ("gross", "fees", "refunds", "payout", "bank")
"""The parts of a payout that must tie, in the order a finding names them."""

PAYOUT_SCHEMA: dict[str, pl.DataType] = {
    "account_ref": pl.String(),
    "asset_id": pl.String(),
    "payout_id": pl.String(),
    "date": pl.Date(),
    "records": pl.UInt32(),
    "gross": WIDE_AMOUNT,
    "fees": WIDE_AMOUNT,
    "refunds": WIDE_AMOUNT,
    "payout": WIDE_AMOUNT,
    "ledger_gross": WIDE_AMOUNT,
    "ledger_fees": WIDE_AMOUNT,
    "ledger_refunds": WIDE_AMOUNT,
    "ledger_payout": WIDE_AMOUNT,
    "ledger_payout_item": pl.String(),
    "bank_file": pl.String(),
    "bank_line": pl.Int64(),
    "bank_ref": pl.String(),
    "bank_amount": pl.Int64(),
    "status": pl.String(),
    "untied": pl.String(),
}
"""One row per payout, sorted by account_ref, asset_id, payout_id.

Amounts are signed minor units on the processor balance (a capture of an issuing card is
negative, a charge of an acquirer positive); ``payout`` is the payout record (null when the
report holds none), ``bank_amount`` the bank line in the bank account's view (it ties when it
is minus ``payout``). ``status`` is ``tied`` or ``untied``; ``untied`` lists the failing
parts (PARTS), comma-separated, empty when tied. Every part and its ledger side is an exact
Decimal(38, 0) sum: an Int64 sum wraps past 2^63 - 1 and could tie parts 2^64 apart.
"""

_KEY = ["account_ref", "asset_id", "payout_id"]
_AUTO = "auto"


def part_of(type_code: pl.Expr) -> pl.Expr:
    """The part of a payout a record is, from its type code (Stripe reporting category)."""
    code = type_code.fill_null("").str.to_lowercase()
    return (
        pl.when(code == "payout")
        .then(pl.lit("payout"))
        .when(code == "fee")
        .then(pl.lit("fees"))
        .when(code.str.starts_with("refund"))
        .then(pl.lit("refunds"))
        .otherwise(pl.lit("gross"))
    )


def tie_out(
    work: WorkFrames,
    matches: pl.DataFrame,
    links: pl.DataFrame,
    open_i: pl.DataFrame,
    rules: MatchRules,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Every payout tied out: (payouts, findings, absorbed breaks).

    ``payouts`` is PAYOUT_SCHEMA, ``findings`` FINDINGS_SCHEMA, ``absorbed`` the breaks that
    raise no finding of their own (``side``, ``item_id``, ``file``; see the module doc).
    ``matches`` and ``links`` are ``match.MATCH_SCHEMA`` and ``LINK_SCHEMA``; ``open_i`` the
    ledger items no stage matched.
    """
    processors = pl.DataFrame(
        sorted(rules.processor_refs()),
        schema={"account_ref": pl.String(), "asset_id": pl.String()},
        orient="row",
    )
    records = (
        work.external.join(processors, on=["account_ref", "asset_id"], how="semi")
        .filter(pl.col("payout_id").is_not_null())
        .with_columns(part_of(pl.col("type_code")).alias("part"))
    )
    if not records.height:
        return _empty()
    auto = links.join(matches.filter(pl.col("status") == _AUTO).select("match_id"), on="match_id")
    matched = records.join(
        auto.filter(pl.col("side") == "external").select(
            "match_id", "file", pl.col("item_id").alias("record_id")
        ),
        on=["file", "record_id"],
        how="left",
    )
    # a match belongs to the payout part of its first record
    owner = (
        matched.filter(pl.col("match_id").is_not_null())
        .sort("x")
        .unique("match_id", keep="first", maintain_order=True)
        .select("match_id", *_KEY, "part")
        .join(matches.select("match_id", "internal_amount"), on="match_id")
    )
    ledger = owner.group_by(*_KEY, "part").agg(
        pl.col("internal_amount").cast(WIDE_AMOUNT).sum().alias("ledger")
    )
    processor = matched.group_by(*_KEY, "part").agg(
        pl.col("amount").cast(WIDE_AMOUNT).sum().alias("processor"),
        pl.col("match_id").is_null().sum().alias("open"),
    )
    parts = processor.join(ledger, on=[*_KEY, "part"], how="left").with_columns(
        pl.col("ledger").fill_null(0)
    )

    def wide(part: str, column: str, name: str) -> pl.DataFrame:
        return parts.filter(pl.col("part") == part).select(*_KEY, pl.col(column).alias(name))

    heads = records.group_by(_KEY).agg(
        pl.len().cast(pl.UInt32()).alias("records"),
        pl.col("booking_date").filter(pl.col("part") == "payout").min().alias("_paid"),
        pl.col("booking_date").max().alias("_last"),
        pl.col("amount").cast(WIDE_AMOUNT).filter(pl.col("part") == "payout").sum().alias("payout"),
        (pl.col("part") == "payout").any().alias("_has_payout"),
    )
    untied_parts = [
        (pl.col(p).fill_null(0) != pl.col(f"ledger_{p}").fill_null(0))
        | (pl.col(f"_open_{p}").fill_null(0) > 0)
        for p in ("gross", "fees", "refunds")
    ]
    table = heads
    for part in ("gross", "fees", "refunds"):
        table = (
            table.join(wide(part, "processor", part), on=_KEY, how="left")
            .join(wide(part, "ledger", f"ledger_{part}"), on=_KEY, how="left")
            .join(wide(part, "open", f"_open_{part}"), on=_KEY, how="left")
        )
    table = table.with_columns(
        pl.col("gross", "fees", "refunds", "ledger_gross", "ledger_fees", "ledger_refunds")
        .fill_null(0)
        .cast(WIDE_AMOUNT),
        pl.when(pl.col("_has_payout")).then(pl.col("payout")).alias("payout"),
        pl.coalesce("_paid", "_last").alias("date"),
    )
    ledger_payout = _ledger_payouts(work, records, owner, links, open_i, processors, rules)
    bank = _bank_lines(work, table.filter(pl.col("_has_payout")), processors)
    table = (
        table.join(ledger_payout, on=_KEY, how="left")
        .join(bank, on=_KEY, how="left")
        .with_columns(
            pl.concat_str(
                [
                    pl.when(flag).then(pl.lit(name))
                    for flag, name in (
                        *zip(untied_parts, ("gross", "fees", "refunds"), strict=True),
                        (
                            pl.col("_has_payout")
                            & (
                                pl.col("ledger_payout").is_null()
                                | (pl.col("ledger_payout") != pl.col("payout"))
                            ),
                            "payout",
                        ),
                        (
                            pl.col("_has_payout")
                            & (
                                pl.col("bank_amount").is_null()
                                | (pl.col("bank_amount") != -pl.col("payout"))
                            ),
                            "bank",
                        ),
                    )
                ],
                separator=",",
                ignore_nulls=True,
            ).alias("untied")
        )
        .with_columns(
            pl.when(pl.col("untied") == "")
            .then(pl.lit("tied"))
            .otherwise(pl.lit("untied"))
            .alias("status")
        )
        .sort(_KEY)
    )
    payouts = table.select(list(PAYOUT_SCHEMA)).cast(pl.Schema(PAYOUT_SCHEMA))
    untied = table.filter(pl.col("status") == "untied")
    absorbed = pl.concat(
        [
            matched.join(untied.select(_KEY), on=_KEY, how="semi")
            .filter(pl.col("match_id").is_null())
            .select(pl.lit("external").alias("side"), pl.col("record_id").alias("item_id"), "file"),
            untied.filter(pl.col("ledger_payout_item").is_not_null()).select(
                pl.lit("internal").alias("side"),
                pl.col("ledger_payout_item").alias("item_id"),
                pl.lit(None, dtype=pl.String()).alias("file"),
            ),
        ]
    )
    payout_rows = (  # the first payout record: one finding per payout, even with several
        records.filter(pl.col("part") == "payout")
        .sort("x")
        .unique(_KEY, keep="first", maintain_order=True)
        .select(*_KEY, pl.col("file").alias("_file"), pl.col("line").alias("_line"))
    )
    firsts = (
        records.sort("x")
        .unique(_KEY, keep="first", maintain_order=True)
        .select(*_KEY, pl.col("file").alias("_f0"), pl.col("line").alias("_l0"))
    )
    located = untied.join(payout_rows, on=_KEY, how="left").join(firsts, on=_KEY, how="left")
    return payouts, _findings(located), absorbed


def _empty() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (
        pl.DataFrame(schema=PAYOUT_SCHEMA),
        pl.DataFrame(schema=FINDINGS_SCHEMA),
        pl.DataFrame(schema={"side": pl.String(), "item_id": pl.String(), "file": pl.String()}),
    )


def _ledger_payouts(  # noqa: PLR0917 (private; every frame is a different input)
    work: WorkFrames,
    records: pl.DataFrame,
    owner: pl.DataFrame,
    links: pl.DataFrame,
    open_i: pl.DataFrame,
    processors: pl.DataFrame,
    rules: MatchRules,
) -> pl.DataFrame:
    """Per payout the ledger's payout item and amount (see the module docstring)."""
    matched = (
        owner.filter(pl.col("part") == "payout")
        .join(links.filter(pl.col("side") == "internal"), on="match_id")
        .sort("item_id")
        .group_by(_KEY)
        .agg(
            pl.col("internal_amount").first().cast(WIDE_AMOUNT).alias("ledger_payout"),
            pl.col("item_id").first().alias("ledger_payout_item"),
        )
    )
    on_bank = work.internal.join(processors, on=["account_ref", "asset_id"], how="anti").select(
        "ledger_id", "transaction_id", "version"
    )
    before, after = rules.widest_window
    paid = records.filter(pl.col("part") == "payout").select(
        *_KEY, pl.col("days").alias("_days"), pl.col("sign").alias("_sign")
    )
    transfers = open_i.join(on_bank, on=["ledger_id", "transaction_id", "version"], how="semi")
    candidates = (
        paid.join(matched.select(_KEY), on=_KEY, how="anti")
        .join(
            transfers.select("account_ref", "asset_id", "item_id", "amount", "days", "sign"),
            on=["account_ref", "asset_id"],
            how="inner",
        )
        .filter(
            (pl.col("sign") == pl.col("_sign"))
            & (pl.col("days") - pl.col("_days")).is_between(-after, before)
        )
        .filter(
            (pl.len().over(_KEY) == 1)
            & (pl.len().over(["account_ref", "asset_id", "item_id"]) == 1)
        )
        .select(
            *_KEY,
            pl.col("amount").cast(WIDE_AMOUNT).alias("ledger_payout"),
            pl.col("item_id").alias("ledger_payout_item"),
        )
    )
    return pl.concat([matched, candidates], how="vertical_relaxed").sort(_KEY)


def _bank_lines(work: WorkFrames, payouts: pl.DataFrame, processors: pl.DataFrame) -> pl.DataFrame:
    """Per payout the bank line that names it (see the module docstring)."""
    schema = {
        **{k: pl.String() for k in _KEY},
        "bank_file": pl.String(),
        "bank_line": pl.Int64(),
        "bank_ref": pl.String(),
        "bank_amount": pl.Int64(),
    }
    if not payouts.height:
        return pl.DataFrame(schema=schema)
    bank = work.external.join(processors, on=["account_ref", "asset_id"], how="anti")
    words = pl.concat_str(
        [pl.col(c) for c in ("text", *STRONG_EXTERNAL, "batch_key")],
        separator=" ",
        ignore_nulls=True,
    )
    named = (
        bank.select(
            "x",
            pl.col("asset_id"),
            "file",
            "line",
            "bank_ref",
            "amount",
            "days",
            normalised(words).str.extract_all(r"[^\s;,]+").alias("word"),
        )
        .explode("word")
        .unique(["x", "word"])
    )
    wanted = payouts.select(
        *_KEY,
        normalised(pl.col("payout_id")).alias("word"),
        pl.col("payout"),
        pl.col("date").cast(pl.Int32()).alias("_days"),
    )
    return (
        wanted.join(named, on=["asset_id", "word"], how="inner")
        .with_columns(
            (pl.col("amount") != -pl.col("payout")).alias("_off"),
            (pl.col("days") - pl.col("_days")).abs().alias("_gap"),
        )
        .sort([*_KEY, "_off", "_gap", "x"])
        .unique(_KEY, keep="first", maintain_order=True)
        .select(
            *_KEY,
            pl.col("file").alias("bank_file"),
            pl.col("line").alias("bank_line"),
            "bank_ref",
            pl.col("amount").alias("bank_amount"),
        )
        .cast(pl.Schema(schema))
    )


def _money(column: str) -> pl.Expr:
    return pl.concat_str(pl.col(column).fill_null(0).cast(pl.String()), pl.lit(" "), "asset_id")


def _findings(untied: pl.DataFrame) -> pl.DataFrame:
    if not untied.height:
        return pl.DataFrame(schema=FINDINGS_SCHEMA)
    says = {
        "gross": pl.concat_str(
            pl.lit("gross "), _money("gross"), pl.lit(" on the processor, "),
            _money("ledger_gross"), pl.lit(" matched in the ledger"),
        ),
        "fees": pl.concat_str(
            pl.lit("fees "), _money("fees"), pl.lit(" on the processor, "),
            _money("ledger_fees"), pl.lit(" booked in the ledger"),
        ),
        "refunds": pl.concat_str(
            pl.lit("refunds "), _money("refunds"), pl.lit(" on the processor, "),
            _money("ledger_refunds"), pl.lit(" matched in the ledger"),
        ),
        "payout": pl.concat_str(
            pl.lit("payout "), _money("payout"), pl.lit(" on the processor, "),
            pl.when(pl.col("ledger_payout").is_null())
            .then(pl.lit("none"))
            .otherwise(_money("ledger_payout")),
            pl.lit(" booked in the ledger"),
        ),
        "bank": pl.concat_str(
            pl.lit("net "), _money("payout"), pl.lit(" against "),
            pl.when(pl.col("bank_amount").is_null())
            .then(pl.lit("no bank line naming it"))
            .otherwise(pl.concat_str(pl.lit("bank line "), _money("bank_amount"))),
        ),
    }  # fmt: skip
    failing = pl.col("untied").str.split(",")
    message = pl.concat_str(
        pl.lit("payout "),
        pl.col("payout_id"),
        pl.lit(" does not tie: "),
        pl.concat_str(
            [pl.when(failing.list.contains(p)).then(text) for p, text in says.items()],
            separator="; ",
            ignore_nulls=True,
        ),
    )
    first = failing.list.first()
    expected = pl.coalesce(
        [pl.when(first == p).then(_money("payout" if p == "bank" else p)) for p in PARTS]
    )
    actual = pl.coalesce(
        [
            pl.when(first == "bank").then(
                pl.concat_str(
                    (-pl.col("bank_amount").fill_null(0)).cast(pl.String()),
                    pl.lit(" "),
                    "asset_id",
                )
            ),
            *(pl.when(first == p).then(_money(f"ledger_{p}")) for p in PARTS[:4]),
        ]
    )
    other = pl.coalesce(
        [
            pl.when(first == "bank").then(-pl.col("bank_amount").fill_null(0)),
            *(pl.when(first == p).then(pl.col(f"ledger_{p}").fill_null(0)) for p in PARTS[:4]),
        ]
    )
    mine = pl.coalesce(
        [pl.when(first == p).then(pl.col("payout" if p == "bank" else p)) for p in PARTS]
    )
    locator = pl.concat_str(
        pl.coalesce("_file", "_f0"), pl.lit(":"), pl.coalesce("_line", "_l0").cast(pl.String())
    )
    return findings_from(
        untied.lazy(),
        rule=RECON_PAYOUT_UNTIED,
        severity=Severity.HIGH,
        check="reconcile",
        table=None,
        message=message,
        expected=expected,
        actual=actual,
        difference=other - mine.fill_null(0),
        locator=locator,
    ).collect()
