"""Running-balance continuity: a vendor's per-entry balances and versions must follow.

pgledger writes on every entry the account's balance before and after it and the account's
new version; Midaz writes on every operation the balance before and after and the balance
version before and after. That is a per-account chain the vendor's own data allows checking
and that the canonical frames cannot hold, so the adapters check it while they hold the rows:

- each row: ``before + delta = after`` (where the signed change is known);
- each account, in version order: the first row starts from zero at the opening version,
  every later row starts where the one before ended (balance and version), versions step by
  one and none repeats;
- the account's last row ends at the account's cached balance and version.

Every break is a ``balance.running_broken`` finding naming the vendor row (or the account,
for a cached value no row reaches). One edit of a balance or a version shows at its own row.
Columnar: one sort and a few window expressions, no loop per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from ledger_audit.findings import (
    CheckResult,
    Coverage,
    RuleId,
    Severity,
    findings_from,
    sort_findings,
)
from ledger_audit.sources.adapters.adapted import NativeCheck

ROWS_SCHEMA: dict[str, pl.DataType] = {
    "row_id": pl.String(),
    "ledger_id": pl.String(),
    "account": pl.String(),
    "asset_id": pl.String(),
    "version_before": pl.Int64(),
    "version": pl.Int64(),
    "delta": pl.Int64(),
    "before": pl.Int64(),
    "after": pl.Int64(),
    "problem": pl.String(),
}
"""One vendor row: ``version_before`` null means ``version - 1`` (pgledger keeps only the
new version); ``delta`` null means the signed change is not known from the row alone (a
Midaz hold), so only continuity is checked; ``problem`` says why a value could not be read
(a balance with more decimals than the asset's scale), and such a row is a finding."""

CACHED_SCHEMA: dict[str, pl.DataType] = {
    "ledger_id": pl.String(),
    "account": pl.String(),
    "asset_id": pl.String(),
    "balance": pl.Int64(),
    "version": pl.Int64(),
    "problem": pl.String(),
}
"""One cached account balance (``version`` null when the vendor caches none)."""

RULES = (RuleId.BALANCE_RUNNING_BROKEN,)
_DIGITS = 38
"""Digits a value may have at its scale before it is refused: Int128 holds every such value."""
_INT64 = (-(2**63), 2**63 - 1)
"""Minor units of at most 18 digits always fit Int64 (and every sum of a few of them)."""


@dataclass(frozen=True, slots=True)
class RunningLayout:
    """Where a vendor keeps its running balances, for the findings' locators and words.

    Attributes:
        check: the native check's name (``pgledger_running``).
        rows: the vendor table of the rows (``pgledger_entries``).
        accounts: the vendor table of the cached balances (``pgledger_accounts``).
        balance: what the balance is called (``balance``, ``available``).
        opening_version: the version an account has before its first row.
        versions: check the versions too (False for a second balance of the same rows,
            such as Midaz's on-hold balance, whose versions the first check covers).
    """

    check: str
    rows: str
    accounts: str
    balance: str = "balance"
    opening_version: int = 0
    versions: bool = True


_PLAIN = r"^-?[0-9]{1,18}(?:\.[0-9]{1,18})?$"
"""Decimal text the fast path of ``minor_units`` takes: what PostgreSQL writes for NUMERIC."""
_PLAIN_SHIFT = 18
"""The largest power of ten the fast path multiplies by (18 + 18 digits fit Int128)."""


def minor_units(frame: pl.LazyFrame, columns: Mapping[str, str], scale: str) -> pl.LazyFrame:
    """Exact decimal text (PostgreSQL NUMERIC) as integer minor units at the row's ``scale``.

    ``columns`` maps each output to its text column; each output ``name`` is Int64, null
    where ``name_problem`` says why: not a decimal, more non-zero decimals than the scale,
    or beyond int64 (computed exactly in Int128 first). Never rounds.

    Plain text (``-123.45``, no more decimals than the scale) is read in one pass: its digits
    as an integer times 10^(scale - decimals), exact in Int128. Only the rest (a refusal,
    trailing zeros beyond the scale, signs, spaces) goes through the staged reading, which
    then sees null for every value already read.
    """
    s = pl.col(scale).cast(pl.Int64)
    # In stages, each text read once: as one expression per column, the shared parts (the
    # dot's place, the shift, the wide value) were evaluated again for each use.
    frame = frame.with_columns(
        expr
        for name, source in columns.items()
        for expr in (
            pl.col(source).cast(pl.String).str.find(".", literal=True).alias(f"_{name}_dot"),
            pl.col(source).cast(pl.String).str.len_bytes().alias(f"_{name}_len"),
            pl.col(source)
            .cast(pl.String)
            .str.replace(".", "", literal=True)
            .cast(pl.Int64, strict=False)
            .alias(f"_{name}_digits"),
            pl.col(source).cast(pl.String).str.contains(_PLAIN).alias(f"_{name}_plain"),
        )
    )
    frame = frame.with_columns(
        (
            s
            - pl.when(pl.col(f"_{name}_dot").is_null())
            .then(0)
            .otherwise(pl.col(f"_{name}_len") - pl.col(f"_{name}_dot") - 1)
        ).alias(f"_{name}_shift")
        for name in columns
    )
    frame = frame.with_columns(
        (
            pl.col(f"_{name}_digits").cast(pl.Int128)
            * pl.lit(10, pl.Int128).pow(pl.col(f"_{name}_shift").clip(0, _PLAIN_SHIFT))
        ).alias(f"_{name}_wide")
        for name in columns
    )
    frame = frame.with_columns(
        pl.when(
            pl.col(f"_{name}_plain")
            & pl.col(f"_{name}_shift").is_between(0, _PLAIN_SHIFT)
            & pl.col(f"_{name}_wide").is_between(*_INT64)
        )
        .then(pl.col(f"_{name}_wide").cast(pl.Int64))
        .alias(f"_{name}_fast")
        for name in columns
    ).drop(
        f"_{name}_{part}"
        for name in columns
        for part in ("dot", "len", "digits", "plain", "shift", "wide")
    )
    row = "_minor_units_row"
    frame = frame.with_row_index(row)
    declined = pl.any_horizontal(pl.col(f"_{name}_fast").is_null() for name in columns)
    rest = frame.filter(declined).select(
        row,
        pl.col(scale),
        *(
            pl.when(pl.col(f"_{name}_fast").is_null())
            .then(pl.col(source).cast(pl.String))
            .alias(f"_{name}_rest")
            for name, source in columns.items()
        ),
    )
    staged_only = _staged_minor_units(
        rest, {f"_{name}_staged": f"_{name}_rest" for name in columns}, scale
    ).select(
        row,
        *(x for name in columns for x in (f"_{name}_staged", f"_{name}_staged_problem")),
    )
    staged = frame.join(staged_only, on=row, how="left", maintain_order="left").drop(row)
    return staged.with_columns(
        expr
        for name in columns
        for expr in (
            pl.coalesce(f"_{name}_fast", f"_{name}_staged").alias(name),
            pl.when(pl.col(f"_{name}_fast").is_null())
            .then(pl.col(f"_{name}_staged_problem"))
            .alias(f"{name}_problem"),
        )
    ).drop(f"_{name}_{part}" for name in columns for part in ("fast", "staged", "staged_problem"))


def _staged_minor_units(
    frame: pl.LazyFrame, columns: Mapping[str, str], scale: str
) -> pl.LazyFrame:
    """``minor_units`` for any text, saying why a value is refused.

    Built in stages of plain string kernels (no regex capture, no repeated sub-expressions).
    """
    s = pl.col(scale).cast(pl.Int64)
    frame = frame.with_columns(
        pl.col(source).cast(pl.String).str.strip_chars().alias(f"_{name}_text")
        for name, source in columns.items()
    )
    # Trailing zeros of a fraction carry nothing: "12.340" is "12.34", "7.0" is "7".
    frame = frame.with_columns(
        pl.when(pl.col(f"_{name}_text").str.contains(".", literal=True))
        .then(pl.col(f"_{name}_text").str.strip_chars_end("0").str.strip_chars_end("."))
        .otherwise(pl.col(f"_{name}_text"))
        .alias(f"_{name}_short")
        for name in columns
    )
    frame = frame.with_columns(
        pl.col(f"_{name}_short").str.find(".", literal=True).alias(f"_{name}_dot")
        for name in columns
    )
    frame = frame.with_columns(
        expr
        for name in columns
        for expr in (
            (
                s
                - pl.when(pl.col(f"_{name}_dot").is_null())
                .then(0)
                .otherwise(pl.col(f"_{name}_short").str.len_bytes() - pl.col(f"_{name}_dot") - 1)
                .cast(pl.Int64)
            ).alias(f"_{name}_shift"),
            pl.col(f"_{name}_short")
            .str.replace(".", "", literal=True)
            .str.strip_chars_start("+-")
            .str.strip_chars_start("0")
            .alias(f"_{name}_digits"),
        )
    )
    frame = frame.with_columns(
        expr
        for name in columns
        for expr in (
            pl.when(pl.col(f"_{name}_text").is_null())
            .then(pl.lit("no value"))
            .when(
                ~pl.col(f"_{name}_text").str.contains(r"^[+-]?[0-9]*\.?[0-9]*$")
                | ~pl.col(f"_{name}_text").str.contains("[0-9]")
            )
            .then(pl.lit("not a decimal number"))
            .when(s.is_null())
            .then(pl.lit("the asset's scale is not known"))
            .when(pl.col(f"_{name}_shift") < 0)
            .then(pl.format("more decimals than the asset's scale {}", s))
            .when(pl.col(f"_{name}_digits").str.len_bytes() + pl.col(f"_{name}_shift") > _DIGITS)
            .then(pl.lit("too large for 64-bit minor units"))
            .alias(f"_{name}_refused"),
        )
    )
    # exact in Int128 (at most 38 digits), then held to int64's range
    frame = frame.with_columns(
        pl.when(pl.col(f"_{name}_refused").is_null())
        .then(
            pl.when(pl.col(f"_{name}_text").str.starts_with("-")).then(-1).otherwise(1)
            * pl.col(f"_{name}_digits").replace("", "0").cast(pl.Int128, strict=False)
            * pl.lit(10, pl.Int128).pow(pl.col(f"_{name}_shift").clip(lower_bound=0))
        )
        .alias(f"_{name}_wide")
        for name in columns
    )
    return frame.with_columns(
        expr
        for name in columns
        for expr in (
            pl.coalesce(
                pl.col(f"_{name}_refused"),
                pl.when(~pl.col(f"_{name}_wide").is_between(*_INT64)).then(
                    pl.lit("too large for 64-bit minor units")
                ),
            ).alias(f"{name}_problem"),
            pl.when(pl.col(f"_{name}_wide").is_between(*_INT64))
            .then(pl.col(f"_{name}_wide").cast(pl.Int64))
            .alias(name),
        )
    ).drop(
        f"_{name}_{part}"
        for name in columns
        for part in ("text", "short", "dot", "shift", "digits", "refused", "wide")
    )


_VERSION_BITS = 40
"""Versions below 2^40 and account codes below 2^23 pack into one non-negative Int64 key."""


_ROW = "_row"
"""A row's place in the rows as given: the ordered numbers find their text by it."""
_TEXT = ("row_id", "ledger_id", "account", "asset_id", "problem")
"""The text columns of a row, which only the rows of a finding need in order."""


def _sorted(coded: pl.DataFrame, row_id: pl.Series) -> pl.DataFrame:
    """``coded`` in (code, version, row id) order (``row_id`` beside it, in its order).

    When every version is in [0, 2^40) and no account repeats a version (a clean ledger),
    (code, version) packed into one Int64 is unique and sorting by it alone gives that order
    (a fifth of the three-column sort with its text tiebreak). Otherwise, a repeated version
    or a version out of range, the rows take the full sort, so the order is the same.
    """
    version = coded.get_column("version")
    code = coded.get_column("code")
    low, high = version.min(), version.max()
    if (
        coded.height > 1
        and version.null_count() == 0
        and isinstance(low, int)
        and isinstance(high, int)
        and low >= 0
        and high < 2**_VERSION_BITS
        and int(code.max() or 0) < 2 ** (63 - _VERSION_BITS)  # type: ignore[arg-type]
    ):
        key = code.cast(pl.Int64) * 2**_VERSION_BITS + version
        order = key.arg_sort()
        steps = key.gather(order).diff().drop_nulls()
        if int(steps.min() or 0) > 0:
            return coded.select(pl.all().gather(order))
    return (
        coded.with_columns(row_id.alias("_row_id"))
        .sort("code", "version", "_row_id", nulls_last=True)
        .drop("_row_id")
    )


def _ordered(rows: pl.DataFrame) -> pl.LazyFrame:
    """The rows' numbers in (ledger, account, version, row id) order, each beside its predecessor.

    Accounts are sorted by a dense integer code, not by their text (vendor ids share long
    prefixes, which makes a text sort several times slower); the code only groups the rows,
    and every output is sorted again, so the order stays total. After the sort an account's
    rows are contiguous: neighbours are compared by shifting, with no window per account.
    Only numbers and flags are moved by the sort (moving the text columns was most of its
    cost); ``_row`` finds a row's text again (``_with_text``).
    """
    account = pl.concat_str("ledger_id", "account", separator="\x00", ignore_nulls=True)
    numbers = rows.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias(_ROW),
        account.cast(pl.Categorical).to_physical().alias("code"),
        "version_before",
        "version",
        "delta",
        "before",
        "after",
        pl.col("problem").is_null().alias("readable"),
    )
    ordered = _sorted(numbers, rows.get_column("row_id")).lazy()
    same_before = pl.col("code") == pl.col("code").shift(1)
    same_after = pl.col("code") == pl.col("code").shift(-1)
    return ordered.with_columns(
        pl.coalesce("version_before", pl.col("version") - 1).alias("vb"),
        pl.when(same_before).then(pl.col("after").shift(1)).alias("pred_after"),
        pl.when(same_before).then(pl.col("version").shift(1)).alias("pred_version"),
        (~same_before.fill_null(value=False)).alias("first"),
        (~same_after.fill_null(value=False)).alias("last"),
        (
            (same_before & (pl.col("version") == pl.col("version").shift(1))).fill_null(value=False)
            | (same_after & (pl.col("version") == pl.col("version").shift(-1))).fill_null(
                value=False
            )
        ).alias("repeated"),
    )


def _with_text(picked: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    """The picked ordered rows with their text columns, taken from ``rows`` by place."""
    text = rows.select(pl.col(c).gather(picked.get_column(_ROW)) for c in _TEXT)
    return picked.hstack(text)


def running_findings(
    rows: pl.DataFrame, cached: pl.DataFrame, layout: RunningLayout
) -> pl.DataFrame:
    """Every break of the running-balance chain of ``rows`` (ROWS_SCHEMA) against ``cached``."""
    return _running(rows, cached, layout)[0]


def _running(
    rows: pl.DataFrame, cached: pl.DataFrame, layout: RunningLayout
) -> tuple[pl.DataFrame, int]:
    """The findings, and how many accounts the rows hold.

    Each rule is a condition on a row and its neighbours, computed once over the ordered
    rows; the rows that break any rule are taken out in one pass, and each rule's findings
    are built from those alone (on a clean ledger, none), so the rules do not each scan every
    row. An account's last row is found the same way, for the cached balances.
    """
    # Sorted once; every rule reads it. rechunk: polars 2.1 panicked (binview index) filtering
    # the string columns of this streaming-collected frame in some layouts.
    ordered = _ordered(rows).collect().rechunk()
    at_row = pl.format(f"{layout.rows}(id={{}})", pl.col("row_id"))
    at_account = pl.format(f"{layout.accounts}(id={{}})", pl.col("account"))
    name = layout.balance
    opening = layout.opening_version
    readable = pl.col("readable")
    versions = pl.lit(layout.versions)
    rules: list[tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr]] = [
        (
            ~readable,
            pl.format(
                f"the {name} before or after this row cannot be read: {{}}", pl.col("problem")
            ),
            pl.lit("exact minor units"),
            pl.col("problem"),
        ),
        (
            readable
            & pl.col("delta").is_not_null()
            & (pl.col("before") + pl.col("delta") != pl.col("after")),
            pl.format(
                f"the {name} after this row is not the {name} before it plus its amount "
                "({} + {} should be {})",
                pl.col("before"),
                pl.col("delta"),
                pl.col("before") + pl.col("delta"),
            ),
            pl.col("before") + pl.col("delta"),
            pl.col("after"),
        ),
        (
            readable & ~pl.col("first") & (pl.col("before") != pl.col("pred_after")),
            pl.format(
                f"this row's {name} before ({{}}) is not where the account's previous version "
                "({}) ended",
                pl.col("before"),
                pl.col("pred_version"),
            ),
            pl.col("pred_after"),
            pl.col("before"),
        ),
        (
            readable & pl.col("first") & (pl.col("before") != 0),
            pl.format(
                f"the account's first row starts from a {name} of {{}}, not from zero",
                pl.col("before"),
            ),
            pl.lit(0),
            pl.col("before"),
        ),
        (
            versions & (pl.col("version") != pl.col("vb") + 1),
            pl.format(
                "the version after this row ({}) is not one more than before it ({})",
                pl.col("version"),
                pl.col("vb"),
            ),
            pl.col("vb") + 1,
            pl.col("version"),
        ),
        (
            versions & ~pl.col("first") & (pl.col("vb") != pl.col("pred_version")),
            pl.format(
                "the account's versions are not contiguous: this row follows version {} but "
                "starts from version {}",
                pl.col("pred_version"),
                pl.col("vb"),
            ),
            pl.col("pred_version"),
            pl.col("vb"),
        ),
        (
            versions & pl.col("first") & (pl.col("vb") != opening),
            pl.format(
                f"the account's first row starts from version {{}}, not from {opening}",
                pl.col("vb"),
            ),
            pl.lit(opening),
            pl.col("vb"),
        ),
        (
            versions & pl.col("repeated"),
            pl.format("another row of the account has the same version {}", pl.col("version")),
            pl.lit("one row per version"),
            pl.format("version {} repeated", pl.col("version")),
        ),
    ]
    broken = pl.any_horizontal(condition for condition, *_ in rules)
    picked = _with_text(ordered.filter(broken | pl.col("last")), rows).with_columns(
        pl.col("account").alias("account_id")
    )
    flagged = picked.lazy().filter(broken)
    parts = [
        _broken(flagged.filter(condition), layout, at_row, message=message, expected=e, actual=a)
        for condition, message, e, a in rules
    ]
    last = picked.filter(pl.col("last"))
    parts.extend(_cached_findings(last.lazy(), cached, layout, at_row, at_account))
    return sort_findings(pl.concat(parts).collect()), last.height


def _broken(
    rows: pl.LazyFrame,
    layout: RunningLayout,
    locator: pl.Expr,
    *,
    message: pl.Expr,
    expected: pl.Expr,
    actual: pl.Expr,
) -> pl.LazyFrame:
    """``balance.running_broken`` findings of ``rows`` (every rule of this check is that one)."""
    return findings_from(
        rows,
        rule=RuleId.BALANCE_RUNNING_BROKEN,
        severity=Severity.HIGH,
        check=layout.check,
        table=None,
        locator=locator,
        message=message,
        expected=expected,
        actual=actual,
    )


def _cached_findings(
    last_rows: pl.LazyFrame,
    cached: pl.DataFrame,
    layout: RunningLayout,
    at_row: pl.Expr,
    at_account: pl.Expr,
) -> list[pl.LazyFrame]:
    name = layout.balance
    store = (
        cached.lazy()
        .select(list(CACHED_SCHEMA))
        .rename(
            {"balance": "cached_balance", "version": "cached_version", "problem": "cached_problem"}
        )
    )
    last = last_rows.join(store.drop("asset_id"), on=["ledger_id", "account"], how="inner")
    # every account with a row has exactly one last row
    idle = store.join(
        last_rows.select("ledger_id", "account"), on=["ledger_id", "account"], how="anti"
    )
    idle = idle.with_columns(pl.col("account").alias("account_id"))

    def found(
        rows: pl.LazyFrame, locator: pl.Expr, message: pl.Expr, expected: pl.Expr, actual: pl.Expr
    ) -> pl.LazyFrame:
        return _broken(rows, layout, locator, message=message, expected=expected, actual=actual)

    return [
        found(
            store.filter(pl.col("cached_problem").is_not_null()).with_columns(
                pl.col("account").alias("account_id")
            ),
            at_account,
            pl.format(
                f"the account's cached {name} cannot be read: {{}}", pl.col("cached_problem")
            ),
            pl.lit("exact minor units"),
            pl.col("cached_problem"),
        ),
        found(
            last.filter(
                pl.col("problem").is_null()
                & pl.col("cached_problem").is_null()
                & (pl.col("after") != pl.col("cached_balance"))
            ),
            at_row,
            pl.format(
                f"the account's last row ends at a {name} of {{}} but "
                f"{layout.accounts} caches {{}}",
                pl.col("after"),
                pl.col("cached_balance"),
            ),
            pl.col("after"),
            pl.col("cached_balance"),
        ),
        found(
            last.filter(
                pl.lit(layout.versions)
                & pl.col("cached_version").is_not_null()
                & (pl.col("version") != pl.col("cached_version"))
            ),
            at_row,
            pl.format(
                f"the account's last row is version {{}} but {layout.accounts} caches version {{}}",
                pl.col("version"),
                pl.col("cached_version"),
            ),
            pl.col("version"),
            pl.col("cached_version"),
        ),
        found(
            idle.filter(
                pl.col("cached_problem").is_null()
                & (
                    (pl.col("cached_balance") != 0)
                    | (
                        pl.col("cached_version").fill_null(layout.opening_version)
                        != layout.opening_version
                    )
                )
            ),
            at_account,
            pl.format(
                f"the account has no {layout.rows} row but caches a {name} of {{}} at version {{}}",
                pl.col("cached_balance"),
                pl.col("cached_version"),
            ),
            pl.format(f"0 at version {layout.opening_version}"),
            pl.format("{} at version {}", pl.col("cached_balance"), pl.col("cached_version")),
        ),
    ]


def running_check(
    rows: pl.DataFrame,
    cached: pl.DataFrame,
    layout: RunningLayout,
    *,
    unproven: tuple[str, ...] = (),
) -> NativeCheck:
    """The running-balance check as a native check: findings, and what it examined."""
    findings, accounts = _running(rows, cached, layout)
    coverage = Coverage(
        rows.height,
        f"{layout.rows} rows",
        f"{layout.balance} before/after{' and versions' if layout.versions else ''} of "
        f"{accounts} account(s), and the "
        f"{cached.height} cached {layout.balance}(s) of {layout.accounts}",
        unproven=unproven,
    )
    return NativeCheck(CheckResult(layout.check, findings, coverage), RULES)
