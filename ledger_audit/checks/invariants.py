"""The double-entry invariants (DESIGN.md section 5) as great-expectations suites.

The suites are the JSON files of ``expectations/``, read at run time. They run on the
replayed frames through GX's pandas engine (:func:`check_invariants`) or inside the source
database through its SQL engine (:func:`check_invariants_sql`), for a ledger that does not
fit in memory; ``VerifySpec.suites`` chooses (:func:`check_invariant_suites`). Either way a
custom invariant is its one SQLAlchemy statement (``sources.invariant_sql``), run by DuckDB
over the frames or by the database (``checks.engines``). GX is imported
inside these functions only: it costs seconds, and ``import ledger_audit.checks`` stays fast.

Every failed expectation becomes findings at the rows it names, with the rule, severity and
doc its ``meta`` gives; an expectation that raised becomes one ``check.crashed`` finding
naming it, never a data finding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ledger_audit.checks.invariant_rules import GAP_LIMIT, prepare_legs
from ledger_audit.checks.suite_files import SUITES_DIR, SuiteSpec, read_suites
from ledger_audit.errors import InputError
from ledger_audit.findings import (
    CheckResult,
    Coverage,
    Finding,
    RuleId,
    Severity,
    empty_findings,
    findings_frame,
    findings_from,
    sort_findings,
)
from ledger_audit.schema.frames import KEYS
from ledger_audit.sources.invariant_sql import first_wide_entry, sqlite_file_url
from ledger_audit.sources.ledger_frames import LedgerFrames
from ledger_audit.sources.spill import spilled
from ledger_audit.spec import VerifySpec

if TYPE_CHECKING:
    from ledger_audit.checks.gx_suites import ExpectationOutcome, SuiteRun

CHECK = "invariants"
_SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")

Described = tuple[str, pl.Expr, pl.Expr, pl.Expr, pl.Expr | None]
"""(table, message, expected, actual, difference) of one expectation's findings."""
Describe = Callable[[pl.LazyFrame], Described]


def check_invariant_suites(frames: LedgerFrames, spec: VerifySpec) -> CheckResult:
    """The catalogue's entry point: the suites where ``spec.suites`` says, or not at all.

    A ledger with an entry amount beyond int64 runs them on the frames even under ``sql``
    (exact there; the SQL path's sums are BIGINT halves), and its coverage says so.
    """
    if spec.suites == "off":
        nothing = Coverage(0, "transaction versions", "the invariant suites were turned off")
        return CheckResult(CHECK, empty_findings(), nothing)
    wide = None
    if spec.suites == "sql":
        wide = wide_entry(frames) or first_wide_entry(sql_url(spec.source))
    if spec.suites == "sql" and wide is None:
        result = check_invariants_sql(spec)
    else:
        result = check_invariants(frames, spec)
    if wide is not None:  # the SQL path's halves are BIGINT: it would crash, or wrap
        result = ran_on_frames(result, wide, "the database", "the SQL path (--suites sql)")
    return with_not_provable(result, frames)


def ran_on_frames(result: CheckResult, wide: str, where: str, engine: str) -> CheckResult:
    """``result`` (run on the frames) saying why not on ``where``: the ``wide`` entry."""
    scope = (
        f"{result.coverage.scope}, not {where}: {wide} has an amount beyond int64, "
        f"which {engine} cannot sum exactly"
    )
    return replace(result, coverage=replace(result.coverage, scope=scope))


def with_not_provable(result: CheckResult, frames: LedgerFrames) -> CheckResult:
    """``result`` with what the frames cannot prove (:func:`not_provable`) in its coverage."""
    sentences, rules = not_provable(frames)
    coverage = replace(
        result.coverage,
        unproven=(*result.coverage.unproven, *sentences),
        unproven_rules=(*result.coverage.unproven_rules, *rules),
    )
    return replace(result, coverage=coverage)


def wide_entry(frames: LedgerFrames) -> str | None:
    """The first entry (in key order) whose amount is beyond int64, as a locator, or None."""
    amount = pl.col("amount")
    beyond = frames.entries.filter((amount > 2**63 - 1) | (amount < -(2**63)))
    if beyond.is_empty():
        return None
    first = beyond.sort(KEYS["entries"]).row(0, named=True)
    return "entry " + ", ".join(f"{name}={first[name]}" for name in KEYS["entries"])


def not_provable(frames: LedgerFrames) -> tuple[tuple[str, ...], tuple[RuleId, ...]]:
    """What the ledger's data cannot prove, whatever the suites find.

    With nothing to test, a rule without findings reads "not proven", never "passed": a
    mapped source without idempotency keys, or whose accounts carry no no-negative limit.
    """
    sentences: list[str] = []
    rules: list[RuleId] = []
    versions = frames.transactions
    if versions.height and versions["idempotency_key"].null_count() == versions.height:
        sentences.append("no transaction carries an idempotency key: replays are not proven")
        rules.append(RuleId.IDEMPOTENCY_CONFLICT)
    if versions.height and versions["chain_seq"].null_count() == versions.height:
        sentences.append(
            "no chain order: no-negative balances are replayed in the order versions were recorded"
        )
        sentences.append("no chain sequence: deleted versions are not proven by contiguity")
        rules.append(RuleId.CHAIN_DELETED)
    accounts = frames.accounts
    if accounts.height and bool(accounts["allow_negative"].all()):
        sentences.append("no account forbids a negative balance: no-negative is not proven")
        rules.append(RuleId.BALANCE_NEGATIVE)
    return tuple(sentences), tuple(rules)


def check_invariants(
    frames: LedgerFrames, spec: VerifySpec, suites: Sequence[SuiteSpec] | None = None
) -> CheckResult:
    """Run the suites on the loaded frames through GX's pandas engine."""
    del spec  # the frame path needs nothing beyond the frames
    from ledger_audit.checks.gx_suites import run_frame_suites  # noqa: PLC0415 - GX is slow

    chosen = read_suites(SUITES_DIR) if suites is None else tuple(suites)
    run = run_frame_suites(spilled(prepare_legs(frames)), chosen)  # a close's: out of the heap
    return suite_result(run, chosen, "the loaded frames, great-expectations pandas engine")


def check_invariants_sql(
    spec: VerifySpec, suites: Sequence[SuiteSpec] | None = None
) -> CheckResult:
    """Run the suites inside the source database (``spec.source``) through GX's SQL engine.

    The source is opened read-only; it must be a SQLite file or a PostgreSQL URL.
    """
    from ledger_audit.checks.gx_suites import run_sql_suites  # noqa: PLC0415 - GX is slow

    url = sql_url(spec.source)
    chosen = read_suites(SUITES_DIR) if suites is None else tuple(suites)
    run = run_sql_suites(url, chosen)
    where = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
    scope = f"the source database ({where}), great-expectations SQL engine"
    return suite_result(run, chosen, scope)


def sql_url(source: str | None) -> str:
    """The SQLAlchemy URL of a database source (a SQLite file path becomes ``sqlite:///``)."""
    if source is None:
        raise InputError("suites=sql", "the SQL path needs a database source")
    if _URL.match(source):
        return source
    path = Path(source)
    if path.suffix.lower() in _SQLITE_SUFFIXES:
        return sqlite_file_url(path)
    raise InputError(source, "the SQL path of the suites needs a SQLite or PostgreSQL source")


# --- results to findings ------------------------------------------------------------------


def suite_result(run: SuiteRun, suites: Sequence[SuiteSpec], scope: str) -> CheckResult:
    """One suite run, on any engine, as the ``invariants`` check's findings and coverage."""
    findings = [_findings(outcome) for outcome in run.outcomes]
    crashed = [o for o in run.outcomes if o.error is not None]
    count = sum(len(s.expectations) for s in suites)
    coverage = Coverage(
        checked=run.versions,
        unit="transaction versions",
        scope=(
            f"{run.entries:,} entries; {count} expectations in {len(suites)} suites over {scope}"
        ),
        unproven=tuple(
            f"{o.spec.rule} ({o.spec.type} in suite {o.suite}) crashed" for o in crashed
        ),
    )
    frame = sort_findings(pl.concat(findings)) if findings else empty_findings()
    every_one = bool(run.outcomes) and len(crashed) == len(run.outcomes)
    return CheckResult(CHECK, frame, coverage, crashed=every_one)


def _findings(outcome: ExpectationOutcome) -> pl.DataFrame:
    spec = outcome.spec
    if outcome.error is not None:
        crash = Finding(
            rule=RuleId.CHECK_CRASHED,
            severity=Severity.CRITICAL,  # as RULES says: an unproven rule is no pass
            ledger_id=None,
            locator=f"expectation {spec.type} (suite {outcome.suite})",
            message=(
                f"expectation {spec.type} of suite {outcome.suite} crashed "
                f"({outcome.error}); {spec.rule} is unproven"
            ),
            check=CHECK,
        )
        return findings_frame([crash])
    if outcome.success or outcome.rows.is_empty():
        return empty_findings()
    rows = outcome.rows.lazy()
    if spec.type == "expect_chain_seq_to_be_contiguous":  # seqs, not sums of money
        rows = _missing_seqs(rows.with_columns(pl.col("expected", "actual").cast(pl.Int64())))
    describe = MESSAGES.get(spec.type) or BUILT_IN_MESSAGES.get(spec.rule) or _generic(spec.type)
    table, message, expected, actual, difference = describe(rows)
    return findings_from(
        rows,
        rule=spec.rule,
        severity=spec.severity,
        check=CHECK,
        table=table,
        message=message,
        expected=expected,
        actual=actual,
        difference=difference,
    ).collect()


def _missing_seqs(gaps: pl.LazyFrame) -> pl.LazyFrame:
    """One row per missing seq; a wide gap is one row, at its first seq.

    Wide: more than GAP_LIMIT seqs, or more than the seqs the ledger holds (``actual``).
    """
    width = pl.col("expected") - pl.col("chain_seq") + 1
    wide = (width > GAP_LIMIT) | (width > pl.col("actual"))
    return (
        gaps.with_columns(
            pl.col("chain_seq").alias("_lo"),
            pl.col("expected").alias("_hi"),
            wide.alias("_wide"),
            pl.when(wide)
            .then(pl.concat_list(pl.col("chain_seq")))
            .otherwise(pl.int_ranges(pl.col("chain_seq"), pl.col("expected") + 1))
            .alias("chain_seq"),
        )
        .explode("chain_seq")
        .with_columns(pl.col("chain_seq").cast(pl.Int64()))
    )


def _money(amount: str | pl.Expr, asset: str = "asset_id") -> pl.Expr:
    value = pl.col(amount) if isinstance(amount, str) else amount
    return pl.format("{} {}", value, pl.col(asset))


def _row(prefix: str = "") -> pl.Expr:
    return pl.format("{} v{}", pl.col(f"{prefix}transaction_id"), pl.col(f"{prefix}version"))


def _other() -> pl.Expr:
    return pl.format(
        "{} v{} (seq {})",
        pl.col("other_transaction_id"),
        pl.col("other_version"),
        pl.col("other_chain_seq"),
    )


def _entry() -> pl.Expr:
    return pl.format("entry {} of {}", pl.col("entry_index"), _row())


def _entry_unbalanced(_: pl.LazyFrame) -> Described:
    sides = pl.format("debits {}, credits {}", _money("expected"), _money("actual"))
    return (
        "transactions",
        pl.format("{} does not balance in {}: {}", _row(), pl.col("asset_id"), sides),
        pl.format("debits = credits in {}", pl.col("asset_id")),
        sides,
        _money(pl.col("expected") - pl.col("actual")),
    )


def _empty_version(_: pl.LazyFrame) -> Described:
    return (
        "transactions",
        pl.format("{} is posted but has no entries: it moves nothing", _row()),
        pl.lit("the entries of a posted version"),
        pl.lit("no entries"),
        None,
    )


def _ledger_unbalanced(_: pl.LazyFrame) -> Described:
    sides = pl.format(
        "{} debits {}, {} credits {}",
        pl.col("code"),
        _money("expected"),
        pl.col("code"),
        _money("actual"),
    )
    return (
        "entries",
        pl.format(
            "ledger {} does not balance in {} over its {} versions: {}",
            pl.col("ledger_id"),
            pl.col("asset_id"),
            pl.col("code"),
            sides,
        ),
        pl.format("{} debits = {} credits", pl.col("code"), pl.col("code")),
        sides,
        _money(pl.col("expected") - pl.col("actual")),
    )


def _status_move(_: pl.LazyFrame) -> Described:
    code = pl.col("code")
    message = (
        pl.when(code == "starts_archived")
        .then(pl.format("{} is archived, but no pending version comes before it", _row()))
        .when(code == "after_terminal")
        .then(
            pl.format(
                "{} follows v{}, which is {}: posted and archived are final",
                _row(),
                pl.col("other_version"),
                pl.col("subject"),
            )
        )
        .when(code == "pending_again")
        .then(
            pl.format(
                "{} is pending again after pending v{}: a pending transaction is posted or "
                "archived",
                _row(),
                pl.col("other_version"),
            )
        )
        .otherwise(
            pl.format(
                "{} resolves pending {} again: {} resolved it first",
                _row(),
                pl.col("subject"),
                _other(),
            )
        )
    )
    actual = (
        pl.when(code == "starts_archived")
        .then(pl.lit("archived without a pending version"))
        .when(code == "after_terminal")
        .then(pl.format("{} -> a new version", pl.col("subject")))
        .when(code == "pending_again")
        .then(pl.lit("pending -> pending"))
        .otherwise(pl.lit("resolved twice"))
    )
    return (
        "transactions",
        message,
        pl.lit("pending -> posted or archived, once"),
        actual,
        None,
    )


def _overposted(_: pl.LazyFrame) -> Described:
    return (
        "transactions",
        pl.format(
            "{} posts {}, more than the {} pending in {}",
            _row(),
            _money("actual"),
            _money("expected"),
            _other(),
        ),
        pl.format("at most {}", _money("expected")),
        _money("actual"),
        _money(pl.col("actual") - pl.col("expected")),
    )


def _idempotency(_: pl.LazyFrame) -> Described:
    return (
        "transactions",
        pl.format(
            "{} reuses idempotency key {} of {} with a different payload",
            _row(),
            pl.col("subject"),
            _other(),
        ),
        pl.format("the legs of {} (a replay) or a new key", pl.col("other_transaction_id")),
        pl.lit("different legs under the same key"),
        None,
    )


def _external_id(_: pl.LazyFrame) -> Described:
    return (
        "transactions",
        pl.format(
            "{} reuses external id {} of {}, an earlier transaction it is not linked to",
            _row(),
            pl.col("subject"),
            _other(),
        ),
        pl.lit("external ids unique per ledger"),
        pl.format(
            "{} on {} and {}",
            pl.col("subject"),
            pl.col("other_transaction_id"),
            pl.col("transaction_id"),
        ),
        None,
    )


def _not_inverse(_: pl.LazyFrame) -> Described:
    missing = pl.col("code") == "no_original"
    return (
        "transactions",
        pl.when(missing)
        .then(pl.format("{} reverses {}, which has no posted version", _row(), pl.col("subject")))
        .otherwise(
            pl.format(
                "{} is not the exact inverse of {}: in {} it debits {} where the original "
                "credits {}",
                _row(),
                _other(),
                pl.col("asset_id"),
                _money("actual"),
                _money("expected"),
            )
        ),
        pl.when(missing)
        .then(pl.format("a posted version of {}", pl.col("subject")))
        .otherwise(
            pl.format("debits {} (the original's legs, directions swapped)", _money("expected"))
        ),
        pl.when(missing).then(pl.lit("none")).otherwise(pl.format("debits {}", _money("actual"))),
        pl.when(missing).then(None).otherwise(_money(pl.col("actual") - pl.col("expected"))),
    )


def _reversal_duplicate(_: pl.LazyFrame) -> Described:
    return (
        "transactions",
        pl.format(
            "{} reverses {} again: {} reversed it first", _row(), pl.col("subject"), _other()
        ),
        pl.lit("one reversal per transaction"),
        pl.format(
            "reversed by {} and {}", pl.col("other_transaction_id"), pl.col("transaction_id")
        ),
        None,
    )


def _negative(_: pl.LazyFrame) -> Described:
    return (
        "transactions",
        pl.format(
            "{} takes {} (no negative balance allowed) from {} to {} available",
            _row(),
            pl.col("account_id"),
            _money("expected"),
            _money("actual"),
        ),
        pl.format("available >= 0 {}", pl.col("asset_id")),
        _money("actual"),
        _money("actual"),
    )


def _chain_gap(_: pl.LazyFrame) -> Described:
    """A gap; one wider than the seqs the ledger holds is a row moved past the chain."""
    after = pl.format("the next row is seq {} ({})", pl.col("other_chain_seq"), _row("other_"))
    width = pl.col("_hi") - pl.col("_lo") + 1
    return (
        "transactions",
        pl.when(width > pl.col("actual"))
        .then(
            pl.format(
                "no row after seq {} until seq {} ({}), a jump of {} seqs in a ledger that "
                "holds {}: more than its whole chain, so that row's chain_seq was moved, not "
                "that many rows deleted",
                pl.col("_lo") - 1,
                pl.col("other_chain_seq"),
                _row("other_"),
                width,
                pl.col("actual"),
            )
        )
        .when(pl.col("_wide"))
        .then(
            pl.format(
                "seqs {}..{} are missing ({} rows): {}",
                pl.col("_lo"),
                pl.col("_hi"),
                pl.col("_hi") - pl.col("_lo") + 1,
                after,
            )
        )
        .otherwise(pl.format("seq {} is missing: {}", pl.col("chain_seq"), after)),
        pl.format("a row at seq {}", pl.col("chain_seq")),
        pl.lit("no row"),
        None,
    )


def _entry_rule(message: pl.Expr, expected: pl.Expr, actual: pl.Expr) -> Describe:
    def describe(_: pl.LazyFrame) -> Described:
        return ("entries", message, expected, actual, None)

    return describe


def _generic(kind: str) -> Describe:
    return _entry_rule(
        pl.format("{} fails {}", _entry(), pl.lit(kind)), pl.lit(kind), pl.lit("unexpected row")
    )


MESSAGES: dict[str, Describe] = {
    "expect_transaction_versions_to_balance_per_asset": _entry_unbalanced,
    "expect_posted_versions_to_have_entries": _empty_version,
    "expect_ledger_to_balance_per_asset": _ledger_unbalanced,
    "expect_status_moves_to_be_legal": _status_move,
    "expect_postings_to_stay_within_pending_amounts": _overposted,
    "expect_idempotency_keys_to_map_to_one_payload": _idempotency,
    "expect_external_ids_to_be_unique_per_ledger": _external_id,
    "expect_reversals_to_be_exact_inverses": _not_inverse,
    "expect_one_reversal_per_transaction": _reversal_duplicate,
    "expect_no_negative_available_balances": _negative,
    "expect_chain_seq_to_be_contiguous": _chain_gap,
}
"""How each custom expectation's violation rows read as findings."""

BUILT_IN_MESSAGES: dict[RuleId, Describe] = {
    RuleId.ENTRY_INVALID_AMOUNT: _entry_rule(
        pl.format(
            "{} has amount {}: amounts are positive integers in minor units",
            _entry(),
            _money("amount"),
        ),
        pl.lit("amount > 0"),
        _money("amount"),
    ),
    RuleId.ENTRY_UNKNOWN_ASSET: _entry_rule(
        pl.format(
            "{} uses asset {}, which is not registered with a known scale",
            _entry(),
            pl.col("asset_id"),
        ),
        pl.lit("a registered asset"),
        pl.col("asset_id"),
    ),
    RuleId.ENTRY_UNKNOWN_ACCOUNT: _entry_rule(
        pl.format(
            "{} posts to {}, which is not an account of ledger {}",
            _entry(),
            pl.col("account_id"),
            pl.col("ledger_id"),
        ),
        pl.format("an account of ledger {}", pl.col("ledger_id")),
        pl.col("account_id"),
    ),
    RuleId.ENTRY_ASSET_MISMATCH: _entry_rule(
        pl.format(
            "{} posts {} to {}, a single-asset account in {}",
            _entry(),
            pl.col("asset_id"),
            pl.col("account_id"),
            pl.col("account_asset_id"),
        ),
        pl.col("account_asset_id"),
        pl.col("asset_id"),
    ),
    RuleId.ENTRY_ORPHAN: _entry_rule(
        pl.format("{} belongs to no transaction version", _entry()),
        pl.format("a version {} in transactions", _row()),
        pl.lit("no such version"),
    ),
}
