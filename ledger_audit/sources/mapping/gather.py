"""The rest of the canonical tables (accounts, balances, ledgers, assets) and the rejections."""

from __future__ import annotations

import json
from collections.abc import Sequence

import polars as pl

from ledger_audit.schema.frames import FRAME_SCHEMAS
from ledger_audit.sources.ledger_frames import (
    AMOUNT_COLUMNS,
    REJECTION_SCHEMA,
    TableCount,
    empty_rejections,
)
from ledger_audit.sources.mapping import fields
from ledger_audit.sources.mapping.amounts import Stages, merge_stages, money_values
from ledger_audit.sources.mapping.fields import reason_when
from ledger_audit.sources.mapping.rows import (
    PROBLEM,
    ROW,
    Build,
    mark_duplicates,
    null_problem,
)
from ledger_audit.sources.mapping.spec import Field, Section, SourceMapping


def accounts_table(build: Build, entries: pl.DataFrame, scales: pl.DataFrame) -> pl.DataFrame:
    """Accounts from their relation, or gathered from the entries (no asset, no limits)."""
    a = build.mapping.accounts
    if a.section is None:
        ids = entries.select("ledger_id", "account_id").unique().sort("ledger_id", "account_id")
        normal = fields.enum(a.normal_balance, {}, on=pl.col("account_id"))
        frame = ids.with_columns(
            pl.col("account_id").alias("name"),
            normal.value.alias("normal_balance"),
            pl.lit(None, pl.String).alias("asset_id"),
            pl.lit(value=True).alias("allow_negative"),
            pl.lit(None, pl.Int64).alias("opened_ns"),
        )
        undecided = frame.filter(pl.col("normal_balance").is_null())
        if undecided.height:
            shown = ", ".join(undecided["account_id"].head(5).to_list())
            build.notes.append(
                f"{undecided.height} account(s) match no normal_balance prefix and are left out "
                f"(their entries are findings): {shown}"
            )
        build.notes.append(
            "accounts are taken from the entries: single-asset and no-negative limits are not "
            "proven"
        )
        return frame.filter(pl.col("normal_balance").is_not_null())
    rel = build.rel(a.section)
    d = rel.dtypes
    account_id = fields.text(a.id, d)
    normal = fields.enum(a.normal_balance, d, on=account_id.value)
    name = fields.text(a.name, d)
    allow = fields.boolean(a.allow_negative, d, default=True)
    opened = fields.time(a.opened_at, d, build.zone)
    closed = fields.time(a.closed_at, d, build.zone)
    external = fields.text(a.external_id, d)
    metadata = fields.text(a.metadata, d)
    ledger = build.ledger(a.ledger_id, d)
    values: dict[str, pl.Expr] = {
        "ledger_id": ledger.value,
        "account_id": account_id.value,
        "name": pl.coalesce(name.value, account_id.value),
        "normal_balance": normal.value,
        "allow_negative": allow.value,
        "opened_ns": opened.value,
        "closed_ns": closed.value,
        "external_id": external.value,
        "metadata": metadata.value,
    }
    checks = [
        null_problem(account_id.value, str(a.id.key if a.id else "accounts.id")),
        null_problem(normal.value, a.normal_balance.key),
    ]
    reads = [account_id, normal, name, allow, opened, closed, external, metadata, ledger]
    if a.currency is not None:
        code = fields.text(a.currency, d)
        scale = build.scale_of(code.value, scales)
        values["asset_id"] = build.asset_of(code.value, scales)
        checks.append(
            reason_when(
                code.value.is_not_null() & scale.is_null(),
                f"{a.currency.key}: currency has no scale in [assets]",
            )
        )
        reads.append(code)
    else:
        values["asset_id"] = pl.lit(None, pl.String)
    frame = build.evaluate(rel, values, [*fields.problems(*reads), *checks])
    mark_duplicates(rel, frame, ["ledger_id", "account_id"], "accounts")
    if a.allow_negative is None:
        build.notes.append("no-negative limits are not mapped: every account may go negative")
    return rel.good(frame).drop(ROW)


def balances_table(build: Build, scales: pl.DataFrame) -> pl.DataFrame | None:
    """The stored balances, or None (and a note) when the mapping has none."""
    b = build.mapping.balances
    if b is None:
        build.notes.append("no stored balances are mapped: balance drift is not proven")
        return None
    rel = build.rel(b.section)
    d = rel.dtypes
    account = fields.text(b.account, d)
    as_of = fields.time(b.as_of, d, build.zone)
    lock = fields.integer(b.lock_version, d)
    ledger = build.ledger(b.ledger_id, d)
    values: dict[str, pl.Expr] = {
        "ledger_id": ledger.value,
        "account_id": account.value,
        "as_of_ns": as_of.value,
        "lock_version": pl.coalesce(lock.value, pl.lit(0, pl.Int64)),
    }
    checks = [
        *fields.problems(account, as_of, lock, ledger),
        null_problem(account.value, b.account.key),
        null_problem(as_of.value, b.as_of.key),
    ]
    stages: Stages = ()
    for name in ("posted_debits", "posted_credits", "pending_debits", "pending_credits"):
        field: Field = getattr(b, name)
        money, money_checks, money_stages = money_values(build, rel, field, b.currency, scales)
        values["asset_id"] = money["asset_id"]
        values[name] = money["__magnitude"]
        checks += [*money_checks, reason_when(money["__negative"], f"{field.key}: negative total")]
        stages = merge_stages(stages, money_stages)
    frame = build.evaluate(rel, values, checks, stages)
    mark_duplicates(rel, frame, ["ledger_id", "account_id", "asset_id"], "balances")
    return rel.good(frame).drop(ROW)


def _canonical_frame(frame: pl.DataFrame | None, table: str) -> pl.DataFrame:
    """``frame`` with exactly the canonical columns (those not mapped are null)."""
    schema = FRAME_SCHEMAS[table]
    if frame is None:
        return pl.DataFrame(schema=schema)
    return frame.select(
        pl.col(c) if c in frame.columns else pl.lit(None, dtype=schema[c]).alias(c) for c in schema
    )


def _ledgers(build: Build, transactions: pl.DataFrame, used: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per ledger id found; created when its first transaction was recorded."""
    m = build.mapping
    meta = (
        None
        if m.ledger.closed_through_ns is None
        else json.dumps({"closed_through_ns": m.ledger.closed_through_ns})
    )
    ids = pl.concat(used).drop_nulls().unique()
    created = transactions.group_by("ledger_id").agg(pl.col("recorded_ns").min().alias("c"))
    return (
        ids.join(created, on="ledger_id", how="left")
        .sort("ledger_id")
        .select(
            "ledger_id",
            pl.when(pl.col("ledger_id") == m.ledger.id)
            .then(pl.lit(m.ledger.name or m.ledger.id))
            .otherwise(pl.col("ledger_id"))
            .alias("name"),
            pl.lit(None if m.chain is None else m.chain.algorithm, pl.String).alias(
                "chain_algorithm"
            ),
            pl.col("c").fill_null(0).alias("created_ns"),
            pl.lit(meta, pl.String).alias("metadata"),
        )
    )


def canonical_tables(
    build: Build,
    *,
    scales: pl.DataFrame,
    accounts: pl.DataFrame,
    transactions: pl.DataFrame,
    entries: pl.DataFrame,
    balances: pl.DataFrame | None,
) -> dict[str, pl.DataFrame]:
    """The six canonical tables from what the phases built, each with exactly its columns."""
    m = build.mapping
    parts = [accounts, transactions, entries] + ([] if balances is None else [balances])
    ledgers = _ledgers(build, transactions, [f.select(pl.col("ledger_id").unique()) for f in parts])
    accounts = accounts.join(
        ledgers.select("ledger_id", "created_ns"), on="ledger_id", how="left"
    ).with_columns(pl.coalesce("opened_ns", "created_ns").alias("opened_ns"))
    # Every currency the mapping declares is an asset, used or not; and every one used.
    declared = scales.select(pl.concat_str("code", pl.lit("/"), pl.col("scale").cast(pl.String)))
    used = [declared.to_series().alias("asset_id").to_frame()]
    used += [f.select(pl.col("asset_id").unique()) for f in (entries, accounts)]
    if balances is not None:
        used.append(balances.select(pl.col("asset_id").unique()))
    asset_ids = pl.concat(used).drop_nulls().unique().sort("asset_id")
    split = pl.col("asset_id").str.split_exact("/", 1)
    assets = asset_ids.select(
        "asset_id",
        split.struct.field("field_0").alias("code"),
        split.struct.field("field_1").cast(pl.Int32).alias("scale"),
        pl.lit(m.assets.kind).alias("kind"),
    )
    entries = _narrowed(entries.rename({"__magnitude": "amount"}), "amount")
    if balances is not None:
        balances = _narrowed(balances, *AMOUNT_COLUMNS["balances"])
    if m.transactions.idempotency_key is None:
        build.notes.append("idempotency keys are not mapped: idempotency is not proven")
    if m.chain is None:
        build.notes.append("no hash chain is mapped: the history is not proven unaltered")
    floats = [f.key for _, f in _money_fields(m) if f.allow_float]
    if floats:
        build.notes.append(
            f"amounts read from float columns by opt-in ({', '.join(floats)}): their exactness "
            "is not proven"
        )
    return {
        "ledgers": ledgers,
        "assets": assets.select(list(FRAME_SCHEMAS["assets"])),
        "accounts": _canonical_frame(accounts, "accounts"),
        "transactions": _canonical_frame(transactions, "transactions"),
        "entries": _canonical_frame(entries, "entries"),
        "balances": _canonical_frame(balances, "balances"),
    }


def _narrowed(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """Amount columns computed wider than Int64 (Int128) as Int64 where every value fits.

    One pass each for the bounds; ``conform`` then has nothing to narrow, and a column that
    does not fit keeps its width for ``conform`` to widen to Decimal(38, 0).
    """
    wide = [c for c in columns if frame.schema[c] == pl.Int128()]
    if not wide or frame.height == 0:
        return frame
    bounds = frame.select(
        *(pl.col(c).min().alias(f"{c}_min") for c in wide),
        *(pl.col(c).max().alias(f"{c}_max") for c in wide),
    ).row(0, named=True)
    low, high = -(2**63), 2**63 - 1
    fits = [
        c
        for c in wide
        if (bounds[f"{c}_min"] is None or bounds[f"{c}_min"] >= low)
        and (bounds[f"{c}_max"] is None or bounds[f"{c}_max"] <= high)
    ]
    return frame.with_columns(pl.col(fits).cast(pl.Int64)) if fits else frame


def _money_fields(m: SourceMapping) -> list[tuple[str, Field]]:
    found = [("entries", m.entries.amount)]
    if m.balances is not None:
        b = m.balances
        found += [
            ("balances", f)
            for f in (b.posted_debits, b.posted_credits, b.pending_debits, b.pending_credits)
        ]
    return found


def rejected_rows(build: Build) -> tuple[pl.DataFrame, tuple[TableCount, ...]]:
    """One REJECTION_SCHEMA row per rejected source row, and per-relation counts."""
    columns_of = {f.key: f.column for _, f in _all_fields(build.mapping)}
    parts: list[pl.DataFrame] = []
    counts: list[TableCount] = []
    for rel in build.relations.values():
        bad = rel.frame.with_columns(rel.problem.alias(PROBLEM)).filter(
            pl.col(PROBLEM).is_not_null()
        )
        name = rel.section.relation.label
        counts.append(
            TableCount(
                table=name,
                read=rel.frame.height,
                loaded=rel.frame.height - bad.height,
                rejected=bad.height,
            )
        )
        if not bad.height:
            continue
        key = bad[PROBLEM].str.extract(r"^([a-z_.]+):", 1)
        raw = pl.Series("raw_value", [None] * bad.height, dtype=pl.String)
        for field_key in key.drop_nulls().unique().to_list():
            column = columns_of.get(field_key)
            if column is not None and column in bad.columns:
                raw = pl.select(
                    pl.when(pl.lit(key) == field_key)
                    .then(pl.lit(bad[column]).cast(pl.String, strict=False))
                    .otherwise(pl.lit(raw))
                ).to_series()
        locator = bad.select(
            pl.concat_str(pl.lit(f"{name}("), _locator(rel.key_columns, build.by_row), pl.lit(")"))
        ).to_series()
        parts.append(
            pl.DataFrame(
                {
                    "source": pl.repeat(rel.label, bad.height, dtype=pl.String, eager=True),
                    "table": pl.repeat(rel.section.name, bad.height, dtype=pl.String, eager=True),
                    "locator": locator,
                    "column": key.fill_null(rel.section.name),
                    "reason": bad[PROBLEM].str.replace(r"^[a-z_.]+:\s*", ""),
                    "raw_value": raw.fill_null("null"),
                }
            )
        )
    if not parts:
        return empty_rejections(), tuple(counts)
    frame = pl.concat(parts).cast(pl.Schema(REJECTION_SCHEMA))
    return frame.sort("source", "locator", "column", "reason"), tuple(counts)


def _locator(columns: Sequence[str], by_row: bool) -> pl.Expr:
    parts: list[pl.Expr] = [pl.format("row {}", pl.col(ROW))] if by_row or not columns else []
    parts += [
        pl.lit(f"{c}=") + pl.col(c).cast(pl.String, strict=False).fill_null("null") for c in columns
    ]
    return pl.concat_str(parts, separator=", ")


def _all_fields(m: SourceMapping) -> list[tuple[Section, Field]]:
    from ledger_audit.sources.mapping.validate import section_fields  # noqa: PLC0415

    return list(section_fields(m))
