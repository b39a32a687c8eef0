"""What Beancount and hledger share: a plain-text ledger, as its tool read it, in columns.

Both adapters let the vendor's own program read the file (Beancount's loader, the ``hledger``
binary) and hand over the same column layout, ``PlainLedger``; this module turns it into the
six canonical frames. The conventions are one set for both (docs/adapters/beancount.md):

- one transaction per directive, version 0; ``!`` is pending, every other flag posted; its
  transaction id is ``t`` and its position in file order, zero-padded (``t00000012``), so
  appending to the file extends the mirror seal; the directive's ``file:line`` goes into the
  metadata; the effective time is the date at 00:00 in the declared zone (UTC by default);
  the file records no time of entry, so the recorded time is the effective time (stated in
  the notes: order within a day is file order, through the ids);
- one entry per posting, in the directive's order: positive is a debit, negative a credit;
  the number times 10^scale must be an integer, else the whole transaction is rejected (a
  partial transaction would move balances the ledger never had);
- the scale of a commodity: the caller's override, else the file's declaration, else ISO 4217
  for a currency code; a commodity with none of them rejects its transactions;
- a transaction the canonical schema cannot carry (cost, price, lots, virtual postings) is
  not loaded and is reported as ``source.unsupported`` by the adapter, never dropped silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import polars as pl

from ledger_audit.errors import InputError, excerpt
from ledger_audit.findings import (
    CheckResult,
    Coverage,
    Finding,
    RuleId,
    Severity,
    empty_findings,
    findings_frame,
)
from ledger_audit.schema.tables import CANONICAL_TABLES
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.conform import conform_table
from ledger_audit.sources.ledger_frames import (
    REJECTION_SCHEMA,
    LedgerFrames,
    LoadReport,
    TableCount,
    empty_frame,
)
from ledger_audit.sources.mapping.vocabulary import ISO_4217_SCALES

TRANSACTION_COLUMNS: dict[str, pl.DataType] = {
    "position": pl.Int64(),
    "date": pl.Date(),
    "status": pl.String(),
    "description": pl.String(),
    "metadata": pl.String(),
    "locator": pl.String(),
    "unsupported": pl.String(),
}
"""One row per transaction directive, in file order. ``status`` posted or pending;
``metadata`` a JSON object; ``locator`` ``file:line``; ``unsupported`` says why the canonical
schema cannot carry it (null when it can)."""

POSTING_COLUMNS: dict[str, pl.DataType] = {
    "position": pl.Int64(),
    "posting_index": pl.Int32(),
    "account": pl.String(),
    "commodity": pl.String(),
    "number": pl.String(),
    "locator": pl.String(),
}
"""One row per posting: ``number`` is the exact signed decimal the tool read, as text."""

ACCOUNT_COLUMNS: dict[str, pl.DataType] = {
    "account": pl.String(),
    "normal_balance": pl.String(),
    "currency": pl.String(),
    "opened": pl.Date(),
    "closed": pl.Date(),
    "locator": pl.String(),
}
"""One row per account: ``currency`` when the account is constrained to one commodity;
``opened`` null means "from the first day of the ledger"."""

ASSERTION_COLUMNS: dict[str, pl.DataType] = {
    "locator": pl.String(),
    "date": pl.Date(),
    "account": pl.String(),
    "commodity": pl.String(),
    "number": pl.String(),
    "tolerance": pl.String(),
    "subaccounts": pl.Boolean(),
    "cut_position": pl.Int64(),
    "cut_index": pl.Int32(),
    "total": pl.Boolean(),
}
"""One row per balance assertion. It counts the postings dated before ``date``, and those
dated ``date`` up to (``cut_position``, ``cut_index``) in file order, inclusive: (0, -1)
is Beancount's start of day, the asserting posting itself is hledger's. ``total`` (hledger
``==``): every other commodity of the account must be zero."""

ROOT_NORMAL: dict[str, str] = {
    "assets": "debit",
    "expenses": "debit",
    "liabilities": "credit",
    "equity": "credit",
    "income": "credit",
    "revenue": "credit",
}
"""The normal balance of an account from its root (Beancount's five classes; hledger's
``revenue`` as well)."""

_ID_WIDTH = 8
_MESSAGE_CHARS = 160
"""A tool's error message is quoted up to this length (its own words, one line)."""
_EMPTY_METADATA = "{}"


def normal_from_root(account: str, roots: Mapping[str, str] = ROOT_NORMAL) -> str | None:
    """The normal balance of ``account`` from its root name (case-insensitive), or None."""
    return roots.get(account.split(":", 1)[0].lower())


@dataclass(frozen=True, slots=True, eq=False)
class PlainLedger:
    """A plain-text ledger as its own tool read it, before any scaling.

    Attributes:
        adapter: ``beancount`` or ``hledger``.
        source: how reports name the file (its path).
        ledger_id: the canonical ledger id (the file's stem unless given).
        title: the ledger's name (Beancount's ``title`` option, else the stem).
        zone: the IANA zone whose midnight starts each date.
        transactions: TRANSACTION_COLUMNS.
        postings: POSTING_COLUMNS.
        accounts: ACCOUNT_COLUMNS.
        assertions: ASSERTION_COLUMNS.
        scales: the scale of each commodity the file or the caller declared.
    """

    adapter: str
    source: str
    ledger_id: str
    title: str
    zone: str
    transactions: pl.DataFrame
    postings: pl.DataFrame
    accounts: pl.DataFrame
    assertions: pl.DataFrame
    scales: Mapping[str, int]


def frame_of(rows: Mapping[str, list[object]], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A frame of ``schema`` from column lists (the readers gather the tool's objects so)."""
    return pl.DataFrame(dict(rows), schema=dict(schema), strict=False)


def scale_table(plain: PlainLedger) -> pl.DataFrame:
    """(commodity, scale) for every commodity used: declared, else ISO 4217, else null."""
    used = (
        pl.concat(
            [
                plain.postings.select("commodity"),
                plain.accounts.select(pl.col("currency").alias("commodity")),
                plain.assertions.select("commodity"),
            ]
        )
        .drop_nulls()
        .unique()
    )
    declared = pl.DataFrame(
        {"commodity": list(plain.scales), "declared": list(plain.scales.values())},
        schema={"commodity": pl.String(), "declared": pl.Int32()},
    )
    iso = pl.DataFrame(
        {"commodity": list(ISO_4217_SCALES), "iso": list(ISO_4217_SCALES.values())},
        schema={"commodity": pl.String(), "iso": pl.Int32()},
    )
    return (
        used.join(declared, on="commodity", how="left")
        .join(iso, on="commodity", how="left")
        .select(
            "commodity",
            pl.coalesce("declared", "iso").alias("scale"),
            pl.when(pl.col("iso").is_not_null())
            .then(pl.lit("fiat"))
            .otherwise(pl.lit("commodity"))
            .alias("kind"),
        )
        .sort("commodity")
    )


def minor_units(number: pl.Expr, scale: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """(minor units as Int64, why not) for exact decimal text at ``scale``, vectorised.

    ``-12.3400`` at scale 2 is -1234; ``1.005`` at scale 2 is not an integer number of minor
    units (the reason ``not_integral_at_scale``); a value beyond int64 is ``out_of_range``;
    a posting the tool left without a number (a failed interpolation) is ``no_amount``.
    """
    sign = pl.when(number.str.starts_with("-")).then(pl.lit(-1)).otherwise(pl.lit(1))
    digits = number.str.replace(r"^[+-]", "")
    whole = digits.str.extract(r"^([0-9]*)", 1)
    fraction = digits.str.extract(r"\.([0-9]*)$", 1).fill_null("").str.replace(r"0+$", "")
    fits = fraction.str.len_chars() <= scale
    padded = pl.concat_str(
        pl.when(whole == "").then(pl.lit("0")).otherwise(whole),
        fraction.str.pad_end(scale.cast(pl.Int64).clip(0, 38), "0"),
    )
    magnitude = pl.when(fits).then(padded.cast(pl.Int64, strict=False))
    value = magnitude * sign
    syntax = number.str.contains(r"^[+-]?[0-9]*(\.[0-9]*)?$")
    reason = (
        pl.when(number.is_null())
        .then(pl.lit("no_amount"))
        .when(scale.is_null())
        .then(pl.lit("unknown_scale"))
        .when(~syntax)
        .then(pl.lit("not_a_number"))
        .when(~fits)
        .then(pl.lit("not_integral_at_scale"))
        .when(magnitude.is_null())
        .then(pl.lit("out_of_range"))
    )
    return value, reason


def require_zone(adapter: str, zone: str) -> None:
    """Raise InputError unless ``zone`` is an IANA time zone the date conversion knows."""
    try:
        pl.select(pl.lit(0).cast(pl.Datetime("ns")).dt.replace_time_zone(zone))
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"--adapter {adapter}: zone {zone!r}",
            "is not an IANA time zone (expected e.g. UTC or Europe/Paris)",
        ) from exc


def date_ns(date: pl.Expr, zone: str) -> pl.Expr:
    """UTC epoch nanoseconds of 00:00 on ``date`` in ``zone``."""
    return (
        date.cast(pl.Datetime("ns"))
        .dt.replace_time_zone(zone, ambiguous="earliest", non_existent="null")
        .dt.epoch("ns")
    )


def transaction_id(position: pl.Expr) -> pl.Expr:
    """``t`` and the file-order position, zero-padded so ids sort in file order."""
    return pl.concat_str(pl.lit("t"), position.cast(pl.String).str.zfill(_ID_WIDTH))


@dataclass(frozen=True, slots=True, eq=False)
class PlainFrames:
    """The canonical frames of a plain-text ledger, and what fed the native checks.

    Attributes:
        frames: the six canonical frames.
        report: counts (``postings``, ``transactions``, ``accounts`` of the file), rejections
            and notes.
        legs: every loaded posting with its signed minor units and file-order key (the
            assertions' replay), columns account, commodity, date, position, posting_index,
            units.
        scales: (commodity, scale, kind), the scale null where unknown.
        unsupported: one ``source.unsupported`` finding per transaction not loaded for a
            feature the canonical schema cannot carry.
    """

    frames: LedgerFrames
    report: LoadReport
    legs: pl.DataFrame
    scales: pl.DataFrame
    unsupported: tuple[Finding, ...]


def to_frames(plain: PlainLedger, notes: tuple[str, ...]) -> PlainFrames:
    """Scale, orient and conform ``plain``; every posting is loaded or reported."""
    scales = scale_table(plain)
    units, reason = minor_units(pl.col("number"), pl.col("scale"))
    postings = plain.postings.join(
        scales.select("commodity", "scale"), on="commodity", how="left"
    ).with_columns(units.alias("units"), reason.alias("reason"))
    unsupported_tx = plain.transactions.filter(pl.col("unsupported").is_not_null())
    bad_positions = pl.concat(
        [
            postings.filter(pl.col("reason").is_not_null()).select("position"),
            unsupported_tx.select("position"),
        ]
    ).unique()
    rejected_cells = postings.filter(
        pl.col("reason").is_not_null()
        & ~pl.col("position").is_in(unsupported_tx["position"].implode())
    )
    kept_tx = plain.transactions.join(bad_positions, on="position", how="anti")
    kept_postings = postings.join(bad_positions, on="position", how="anti")
    ledger_id = pl.lit(plain.ledger_id, dtype=pl.String)
    dated = kept_postings.join(kept_tx.select("position", "date"), on="position", how="left")
    legs = dated.select("account", "commodity", "date", "position", "posting_index", "units")
    raw_entries = dated.select(
        ledger_id.alias("ledger_id"),
        transaction_id(pl.col("position")).alias("transaction_id"),
        pl.lit(0, dtype=pl.Int32).alias("version"),
        pl.col("posting_index").alias("entry_index"),
        pl.col("account").alias("account_id"),
        pl.format("{}/{}", "commodity", "scale").alias("asset_id"),
        pl.when(pl.col("units") < 0)
        .then(pl.lit("credit"))
        .otherwise(pl.lit("debit"))
        .alias("direction"),
        pl.col("units").abs().alias("amount"),
    )
    raw_transactions = kept_tx.select(
        ledger_id.alias("ledger_id"),
        transaction_id(pl.col("position")).alias("transaction_id"),
        pl.lit(0, dtype=pl.Int32).alias("version"),
        pl.when(pl.col("status") == "pending")
        .then(pl.lit("pending"))
        .otherwise(pl.lit("standard"))
        .alias("kind"),
        pl.col("status"),
        pl.lit(None, dtype=pl.String).alias("pending_transaction_id"),
        pl.lit(None, dtype=pl.String).alias("reverses_transaction_id"),
        date_ns(pl.col("date"), plain.zone).alias("effective_ns"),
        date_ns(pl.col("date"), plain.zone).alias("recorded_ns"),
        pl.lit(None, dtype=pl.String).alias("idempotency_key"),
        pl.lit(None, dtype=pl.String).alias("external_id"),
        pl.col("description"),
        pl.col("metadata"),
        *(
            pl.lit(None, dtype=dtype).alias(name)
            for name, dtype in (
                ("meta_hash", pl.String()),
                ("chain_seq", pl.Int64()),
                ("chain_prev_hash", pl.String()),
                ("content_hash", pl.String()),
                ("chain_hash", pl.String()),
            )
        ),
    )
    first_day = pl.concat(
        [plain.transactions.select("date"), plain.accounts.select(pl.col("opened").alias("date"))]
    )["date"].min()
    created_ns = (
        pl.select(date_ns(pl.lit(first_day, dtype=pl.Date), plain.zone)).item()
        if first_day is not None
        else 0
    )
    raw_accounts = plain.accounts.join(
        scales.select(pl.col("commodity").alias("currency"), "scale"), on="currency", how="left"
    ).select(
        ledger_id.alias("ledger_id"),
        pl.col("account").alias("account_id"),
        pl.col("account").alias("name"),
        "normal_balance",
        pl.when(pl.col("currency").is_not_null() & pl.col("scale").is_not_null())
        .then(pl.format("{}/{}", "currency", "scale"))
        .alias("asset_id"),
        pl.lit(value=True).alias("allow_negative"),
        date_ns(pl.col("opened").fill_null(pl.lit(first_day, dtype=pl.Date)), plain.zone)
        .fill_null(0)
        .alias("opened_ns"),
        date_ns(pl.col("closed"), plain.zone).alias("closed_ns"),
        pl.lit(None, dtype=pl.String).alias("external_id"),
        pl.lit(_EMPTY_METADATA).alias("metadata"),
    )
    raw_assets = scales.filter(pl.col("scale").is_not_null()).select(
        pl.format("{}/{}", "commodity", "scale").alias("asset_id"),
        pl.col("commodity").alias("code"),
        "scale",
        "kind",
    )
    raw_ledgers = pl.DataFrame(
        {
            "ledger_id": [plain.ledger_id],
            "name": [plain.title],
            "chain_algorithm": [None],
            "created_ns": [created_ns],
            "metadata": [json.dumps({"source": plain.source, "adapter": plain.adapter})],
        },
        schema={
            "ledger_id": pl.String(),
            "name": pl.String(),
            "chain_algorithm": pl.String(),
            "created_ns": pl.Int64(),
            "metadata": pl.String(),
        },
    )
    raw = {
        "ledgers": raw_ledgers,
        "assets": raw_assets,
        "accounts": raw_accounts,
        "transactions": raw_transactions,
        "entries": raw_entries,
    }
    conformed = {
        table: conform_table(frame, table, source=plain.source, locate_by="key")
        for table, frame in raw.items()
    }
    tables = {table: c.frame for table, c in conformed.items()}
    tables["balances"] = empty_frame("balances")
    rejections = pl.concat(
        [
            _posting_rejections(plain.source, rejected_cells),
            *(c.rejections for c in conformed.values()),
        ]
    )
    counts = (*(c.count for c in conformed.values()), TableCount("balances", 0, 0, 0))
    n_postings, n_kept = plain.postings.height, kept_postings.height
    n_tx, n_kept_tx = plain.transactions.height, kept_tx.height
    source_counts = (
        TableCount("transactions", n_tx, n_kept_tx, n_tx - n_kept_tx),
        TableCount("postings", n_postings, n_kept, n_postings - n_kept),
        TableCount("accounts", plain.accounts.height, plain.accounts.height, 0),
    )
    zone_note = (
        f"{plain.adapter} dates carry no time: each is read as 00:00 {plain.zone}, so effective "
        "times are proven to the day only"
    )
    report = LoadReport(
        source=plain.source,
        counts=tuple(sorted(counts, key=lambda c: CANONICAL_TABLES.index(c.table))),
        rejections=rejections,
        source_counts=source_counts,
        notes=(zone_note, *notes),
    )
    return PlainFrames(
        frames=LedgerFrames.from_tables(tables),
        report=report,
        legs=legs,
        scales=scales,
        unsupported=_unsupported(plain, unsupported_tx),
    )


def _posting_rejections(source: str, cells: pl.DataFrame) -> pl.DataFrame:
    """One rejection per posting whose number cannot become minor units."""
    return cells.select(
        pl.lit(source).alias("source"),
        pl.lit("postings").alias("table"),
        pl.format("{} posting {}", "locator", pl.col("posting_index") + 1).alias("locator"),
        pl.lit("number").alias("column"),
        pl.format(
            "{} (scale {})", "reason", pl.col("scale").cast(pl.String).fill_null("unknown")
        ).alias("reason"),
        pl.format("{} {}", "number", "commodity").alias("raw_value"),
    ).cast(pl.Schema(REJECTION_SCHEMA))


def _unsupported(plain: PlainLedger, rows: pl.DataFrame) -> tuple[Finding, ...]:
    """One ``source.unsupported`` finding per transaction the schema cannot carry."""
    return tuple(
        Finding(
            rule=RuleId.SOURCE_UNSUPPORTED,
            severity=Severity.HIGH,
            ledger_id=plain.ledger_id,
            locator=locator,
            message=(
                f"{plain.adapter}: transaction not loaded, so not audited: {why} "
                "(the canonical ledger has no cost, price, lot or virtual posting)"
            ),
            expected="postings in units of one commodity each, without cost or price",
            actual=why,
            check=f"{plain.adapter}_unsupported",
        )
        for locator, why in rows.select("locator", "unsupported").iter_rows()
    )


def metadata_json(values: Mapping[str, object]) -> str:
    """A transaction's metadata as compact JSON with sorted keys (values made text)."""
    return json.dumps(
        {key: value for key, value in values.items() if value not in (None, "", [], ())},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )


_DAY_SHIFT = 1 << 44
_POSITION_SHIFT = 1 << 12
_LAST_INDEX = _POSITION_SHIFT - 1
_SUM = pl.Decimal(38, 0)


def _order_key(date: pl.Expr, position: pl.Expr, index: pl.Expr) -> pl.Expr:
    """One Int64 that sorts like (date, file position, posting index).

    Days take the high bits, positions the middle 32, posting indexes the low 12 (a
    transaction with more than 4095 postings shares one key for the rest: the order inside
    one transaction only matters to an assertion on one of its own postings).
    """
    return (
        date.cast(pl.Int64) * _DAY_SHIFT
        + position.cast(pl.Int64) * _POSITION_SHIFT
        + index.cast(pl.Int64).clip(-1, _LAST_INDEX)
    )


@dataclass(frozen=True, slots=True)
class AssertionVerdict:
    """One balance assertion replayed from the loaded postings.

    Attributes:
        locator: the assertion's ``file:line``.
        failed: True when the replayed balance is outside the tolerance (None: its
            commodity has no known scale, so it was not checked).
        finding: the ``balance.assertion_failed`` finding when failed.
    """

    locator: str
    failed: bool | None
    finding: Finding | None


def replay_assertions(
    plain: PlainLedger, loaded: PlainFrames, check: str
) -> tuple[AssertionVerdict, ...]:
    """Check every assertion against the loaded postings (the tool's verdict is not used).

    The running sums are columnar (cumulative per account x commodity in (date, file
    position, posting) order, then an as-of join at each assertion's cut); only the last
    comparison, one per assertion, is exact Decimal arithmetic in Python, since an
    assertion's number and tolerance may carry more decimals than the commodity's scale.
    """
    assertions = plain.assertions.with_row_index("aid").join(
        loaded.scales.select("commodity", "scale"), on="commodity", how="left"
    )
    if assertions.height == 0:
        return ()
    legs = loaded.legs.with_columns(
        _order_key(pl.col("date"), pl.col("position"), pl.col("posting_index")).alias("key"),
        pl.col("units").cast(_SUM),
    ).sort("key")
    running = legs.select(
        "account",
        "commodity",
        "key",
        pl.col("units").cum_sum().over("account", "commodity").alias("balance"),
    )
    held = legs.select("account", pl.col("commodity").alias("held")).unique()
    pairs = (
        assertions.select(
            "aid",
            pl.col("account").alias("asserted"),
            pl.col("commodity").alias("asserted_commodity"),
            "subaccounts",
            "total",
            _order_key(pl.col("date"), pl.col("cut_position"), pl.col("cut_index")).alias("cut"),
        )
        .join(held, how="cross")
        .filter(
            (
                (pl.col("account") == pl.col("asserted"))
                | (
                    pl.col("subaccounts")
                    & pl.col("account").str.starts_with(pl.col("asserted") + ":")
                )
            )
            & ((pl.col("held") == pl.col("asserted_commodity")) | pl.col("total"))
        )
        .rename({"held": "commodity"})
        .sort("cut")
    )
    at_cut = pairs.join_asof(
        running,
        left_on="cut",
        right_on="key",
        by=["account", "commodity"],
        strategy="backward",
        check_sortedness=False,  # both sides were sorted on their keys just above
    )
    sums = at_cut.group_by("aid", "commodity").agg(
        pl.col("balance").fill_null(0).cast(_SUM).sum().alias("balance")
    )
    own = sums.join(
        assertions.select("aid", "commodity"), on=["aid", "commodity"], how="semi"
    ).select("aid", "balance")
    others = (
        sums.join(assertions.select("aid", "commodity"), on=["aid", "commodity"], how="anti")
        .filter(pl.col("balance") != 0)
        .join(loaded.scales.select("commodity", "scale"), on="commodity", how="left")
        .sort("aid", "commodity")
    )
    stray: dict[int, list[str]] = {}
    for aid, commodity, balance, scale in others.select(
        "aid", "commodity", "balance", "scale"
    ).iter_rows():
        stray.setdefault(aid, []).append(_text(Decimal(balance), scale, commodity))
    table = assertions.join(own, on="aid", how="left").sort("aid")
    return tuple(
        _verdict(plain, check, row, stray.get(row["aid"], []))
        for row in table.iter_rows(named=True)
    )


def _text(minor: Decimal, scale: int | None, commodity: str) -> str:
    value = minor if scale is None else minor.scaleb(-scale)
    return f"{value:f} {commodity}"


def _verdict(
    plain: PlainLedger, check: str, row: dict[str, object], stray: list[str]
) -> AssertionVerdict:
    locator = str(row["locator"])
    scale = row["scale"]
    if not isinstance(scale, int):
        return AssertionVerdict(locator, None, None)
    balance = row["balance"]
    actual = Decimal(str(balance) if balance is not None else 0).scaleb(-scale)
    try:
        expected = Decimal(str(row["number"]))
        tolerance = Decimal(str(row["tolerance"] or "0"))
    except InvalidOperation:
        return AssertionVerdict(locator, None, None)
    difference = actual - expected
    if abs(difference) <= tolerance and not stray:
        return AssertionVerdict(locator, failed=False, finding=None)
    commodity = str(row["commodity"])
    account = str(row["account"])
    scope = " and its subaccounts" if row["subaccounts"] else ""
    extra = f"; other commodities not zero: {', '.join(stray)}" if stray else ""
    finding = Finding(
        rule=RuleId.BALANCE_ASSERTION_FAILED,
        severity=Severity.HIGH,
        ledger_id=plain.ledger_id,
        locator=locator,
        message=(
            f"{plain.adapter} balance assertion on {account}{scope} in {commodity} does not "
            f"hold when replayed from the loaded postings (tolerance {tolerance:f}){extra}"
        ),
        expected=f"{expected:f} {commodity}",
        actual=f"{actual:f} {commodity}",
        difference=f"{difference:f}",
        check=check,
        account_id=account,
        asset_id=f"{commodity}/{scale}",
    )
    return AssertionVerdict(locator, failed=True, finding=finding)


def assertion_check(
    plain: PlainLedger,
    loaded: PlainFrames,
    check: str,
    tool_failed: frozenset[str] | None = None,
    tool_judged: frozenset[str] | None = None,
) -> NativeCheck:
    """``balance.assertion_failed`` from the replay, and where the tool disagrees.

    ``source.inconsistent`` where the tool itself judged an assertion otherwise
    (``tool_failed``: the locators it failed; None when its verdict is not available;
    ``tool_judged``: the locators it judged, None for all of them).
    """
    verdicts = replay_assertions(plain, loaded, check)
    findings = [v.finding for v in verdicts if v.finding is not None]
    if tool_failed is not None:
        findings += [
            _disagreement(plain, check, v.locator, mine=bool(v.failed))
            for v in verdicts
            if v.failed is not None
            and (tool_judged is None or v.locator in tool_judged)
            and bool(v.failed) != (v.locator in tool_failed)
        ]
    unchecked = sum(1 for v in verdicts if v.failed is None)
    unproven: tuple[str, ...] = ()
    rules = (RuleId.BALANCE_ASSERTION_FAILED, RuleId.SOURCE_INCONSISTENT)
    if not verdicts:
        unproven = (f"the {plain.adapter} file holds no balance assertion: none was checked",)
    elif unchecked:
        unproven = (
            f"{unchecked} balance assertion(s) in a commodity with no known scale were not checked",
        )
    if tool_failed is None:
        verdict_of_tool = f"{plain.adapter}'s own verdict not used"
    elif tool_judged is None:
        verdict_of_tool = f"{plain.adapter}'s own verdict compared on every one"
    else:
        verdict_of_tool = (
            f"{plain.adapter}'s own verdict compared on the {len(tool_judged)} it judged "
            "before stopping at its first failure"
        )
    coverage = Coverage(
        checked=len(verdicts) - unchecked,
        unit="balance assertions",
        scope=(
            f"{plain.source}: replayed from the loaded postings ({verdict_of_tool}; "
            f"{loaded.legs.height} postings)"
        ),
        unproven=unproven,
        unproven_rules=rules if not verdicts else (),
    )
    return NativeCheck(CheckResult(check, _frame(findings), coverage), rules)


def _disagreement(plain: PlainLedger, check: str, locator: str, *, mine: bool) -> Finding:
    ours, theirs = ("fails", "holds") if mine else ("holds", "fails")
    return Finding(
        rule=RuleId.SOURCE_INCONSISTENT,
        severity=Severity.HIGH,
        ledger_id=plain.ledger_id,
        locator=locator,
        message=(
            f"the balance assertion {ours} when replayed from the loaded postings but "
            f"{plain.adapter}'s own loader says it {theirs}"
        ),
        expected=f"{plain.adapter} and the replay agree",
        actual=f"replay: {ours}; {plain.adapter}: {theirs}",
        check=check,
    )


def unsupported_check(plain: PlainLedger, loaded: PlainFrames, check: str) -> NativeCheck:
    """The transactions not loaded for a feature the canonical ledger cannot carry."""
    coverage = Coverage(
        checked=plain.transactions.height,
        unit="transactions",
        scope=f"{plain.source}: cost, price, lots and virtual postings looked for",
    )
    return NativeCheck(
        CheckResult(check, _frame(list(loaded.unsupported)), coverage),
        (RuleId.SOURCE_UNSUPPORTED,),
    )


def loader_check(
    plain: PlainLedger,
    check: str,
    errors: list[tuple[str, str]],
    checked: int,
    *,
    unit: str = "directives",
    severity: Severity = Severity.HIGH,
) -> NativeCheck:
    """One ``source.loader_error`` per error the tool reported, at its ``file:line``.

    ``severity`` is critical where the error kept the whole file from loading.
    """
    findings = [
        Finding(
            rule=RuleId.SOURCE_LOADER_ERROR,
            severity=severity,
            ledger_id=plain.ledger_id,
            locator=locator,
            message=(
                f"{plain.adapter} reported an error reading the file: "
                f"{excerpt(message, _MESSAGE_CHARS)}"
            ),
            expected=f"a file {plain.adapter} reads without error",
            actual=excerpt(message, _MESSAGE_CHARS),
            check=check,
        )
        for locator, message in errors
    ]
    coverage = Coverage(
        checked=checked,
        unit=unit,
        scope=f"{plain.source}: every error {plain.adapter}'s own reader reported",
    )
    return NativeCheck(
        CheckResult(check, _frame(findings), coverage), (RuleId.SOURCE_LOADER_ERROR,)
    )


def _frame(findings: list[Finding]) -> pl.DataFrame:
    return findings_frame(findings) if findings else empty_findings()
