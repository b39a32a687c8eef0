"""The month-end close as one function: every stage of the data flow over one period.

``run_close`` loads the ledger once, audits it (chain, invariant suites, stored balances,
closed period, duplicates), reconciles it against the statements, builds the drift report
and the bank reconciliation statement per bank account, the trial balance and the
summary journals, runs journal-entry testing and the ledger-native analytics
(``close.analytics``: their flags stay in their own tables, out of the close's findings), and
gathers every finding and every stage's coverage into one :class:`MonthEndClose`. The close
notebook and ``ledger-audit close`` call it; the bundle writer (``close.bundle``) turns its
result into the evidence bundle.

Why one function rather than the notebook's cells doing the work: the notebook stays thin
(an auditor reads what ran, not how), the CLI, the tests and the benchmark run exactly the
same close, and a stage's time is measured in one place (``on_stage``).

A close without statements (``statements=()``) skips reconciliation and drift, and says so
in its coverage (``no data``), so a missing bank file never reads as a clean reconciliation.

Statement files of 16 MiB or more in all are parsed by a child process from the close's
start (``sources.bank.background``), on what the load and the audit leave of the two cores;
the ``statements`` stage then waits for that parse. The parse and its errors are the same.

With ``engine="spark"`` one Spark session runs, from the audit to the trial balance, what
``verify --engine spark`` and ``reconcile --engine spark`` run there: the chain and the
invariant suites (``spark.run.spark_catalogue``), reconciliation's keyed stages
(``spark.reconcile.SparkStages``) and the trial balance's sums
(``spark.trial_balance.build_trial_balance_spark``); each gives the frames path's result
(``tests/spark/test_close_spark.py``). The load, the other checks, the drift, the journals
and the analytics stay on the frames. The session starts in the ``audit`` stage and stops at
the end of the ``trial balance`` stage, so those stages' times include its start and stop.

The reconciliation covers the period: records booked after its last day, or more than the
rules' lookback before its first, are not matched and are counted in its coverage
(``reconcile.match``). A processor report among the statements is reconciled three ways
(``reconcile.payouts``); the drift report covers the bank accounts only (a processor report
states no balance).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

import polars as pl

from ledger_audit.analytics.jet.params import read_jet_params
from ledger_audit.checks.catalogue import CATALOGUE, Check
from ledger_audit.checks.chain import CHECK as CHAIN_CHECK
from ledger_audit.checks.runner import AuditResult, audit
from ledger_audit.close.analytics import CloseAnalytics, run_close_analytics
from ledger_audit.close.flux_section import close_roll_periods
from ledger_audit.errors import InputError
from ledger_audit.findings import CheckResult, Coverage, Severity, empty_findings
from ledger_audit.reconcile.internal import internal_items
from ledger_audit.reconcile.match import Reconciliation, StageRunner, reconcile
from ledger_audit.reconcile.normalise import Window
from ledger_audit.replay.balances import Basis
from ledger_audit.replay.rollforward import RolledForward, roll_forward_once
from ledger_audit.reports.bank_reconciliation import BankReconciliation, build_bank_reconciliation
from ledger_audit.reports.drift import DriftReport, build_drift_report
from ledger_audit.reports.exceptions import by_severity, readable_findings
from ledger_audit.reports.journals import Granularity, SummaryJournals, build_summary_journals
from ledger_audit.reports.trial_balance import TrialBalance, build_trial_balance
from ledger_audit.sources.bank.background import StatementsInBackground
from ledger_audit.sources.bank.records import ParsedStatement
from ledger_audit.sources.checkpoints import read_checkpoints
from ledger_audit.sources.flux_explanations import read_explanations
from ledger_audit.sources.gl_mapping import GlMapping, read_gl_mapping
from ledger_audit.sources.heap import release_free_heap
from ledger_audit.sources.hints import MAPPED_SQL_SUITES
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport
from ledger_audit.sources.match_rules import MatchRules, read_match_rules
from ledger_audit.sources.reading import LedgerRead, read_ledger
from ledger_audit.sources.spill import SPILL_MIN_BYTES, Spill, default_folder, spill_area
from ledger_audit.spark.session import DEFAULT_MASTER, SparkSettings
from ledger_audit.spec import DAY_NS, CheckEngine, Period, SuiteEngine, VerifySpec

STAGES = (
    "load",
    "audit",
    "statements",
    "reconcile",
    "drift",
    "trial balance",
    "journals",
    "analytics",
)
"""The close's stages in running order (what ``on_stage`` is called with)."""

OnStage = Callable[[str, float], None]
"""Called after each stage with its name and its wall time in seconds."""

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
DEFAULT_RULES = Path("rules") / "default.toml"
ENGINES: tuple[CheckEngine, ...] = ("frames", "spark")
_MEMORY = re.compile(r"[0-9]+([kmgtp]b?|b)?", re.IGNORECASE)
"""A JVM memory size as Spark reads it (``512m``, ``2g``, ``4gb``)."""
_Record = TypeVar("_Record")


@dataclass(frozen=True, slots=True)
class CloseParameters:
    """What one close runs on; everything that decides its outputs is here.

    Attributes:
        source: the ledger (any reader input: SQLite path or URL, PostgreSQL URL, folder).
        source_mapping: a source mapping (``mapping.toml``) that reads the user's own tables
            as the ledger; None: the source has the canonical tables.
        adapter: a vendor adapter (``formance``...) that reads the vendor's own layout;
            exclusive with ``source_mapping``.
        period: the month closed, ``YYYY-MM``.
        statements: bank and processor files (any supported format); none skips
            reconciliation and drift.
        gl_mapping: the GL mapping TOML; None skips the summary journals.
        rules: the reconciliation rules TOML; None takes ``rules/default.toml``.
        checkpoints: an earlier run's ``checkpoints.json`` the chain must extend.
        suites: where the invariant suites run (``frame``, ``sql`` or ``off``).
        basis: the time basis of the trial balance and journals.
        granularity: one summary journal per ``month`` or per ``day``.
        materiality: minor units of unexplained drift that are immaterial, every account.
        as_of: the day breaks are aged to; None: the period's last day.
        statement_encoding: the code page of the BAI2/MT940 files; None: UTF-8 when valid,
            else detected (the parse records which).
        jet_rules: the JET parameters TOML (``rules/jet.toml`` documents every key); None:
            the pack's built-in defaults.
        flux_explanations: the reviewer's flux explanations (a CSV, or a filled workpaper:
            ``sources.flux_explanations``); None: every flagged variance is unexplained.
        engine: where the chain, the invariant suites, reconciliation's keyed stages and the
            trial balance's sums run: the loaded ``frames`` or Apache ``spark`` (the module
            docstring); the results are the same.
        spark_master: with ``spark``: ``local[N]``, ``spark://host:7077``, ``yarn``...
        spark_driver_memory: with ``spark``: the driver JVM's heap (``1g``).
        spark_codegen: with ``spark``: compile query stages to Java (off: faster on small
            ledgers). A session already running in the process (a notebook's) is used as it
            is: the three settings then do not apply to it.
    """

    source: str
    period: str
    statements: tuple[str, ...] = ()
    gl_mapping: str | None = None
    rules: str | None = None
    checkpoints: str | None = None
    suites: SuiteEngine = "frame"
    basis: Basis = "effective"
    granularity: Granularity = "month"
    materiality: int = 0
    as_of: str | None = None
    source_mapping: str | None = None
    statement_encoding: str | None = None
    adapter: str | None = None
    jet_rules: str | None = None
    flux_explanations: str | None = None
    engine: CheckEngine = "frames"
    spark_master: str = DEFAULT_MASTER
    spark_driver_memory: str = "1g"
    spark_codegen: bool = True

    def __post_init__(self) -> None:
        Period.month(self.period)  # raises InputError naming a bad period
        if self.as_of is not None:
            try:
                dt.date.fromisoformat(self.as_of)
            except ValueError:
                raise InputError(
                    "as_of", f"expected a date YYYY-MM-DD, got {self.as_of!r}"
                ) from None
        if self.materiality < 0:
            raise InputError("materiality", f"must not be negative, got {self.materiality}")
        if (self.source_mapping is not None or self.adapter is not None) and self.suites == "sql":
            raise InputError("suites", MAPPED_SQL_SUITES)
        if self.source_mapping is not None and self.adapter is not None:
            raise InputError("adapter", "give either a source mapping or an adapter, not both")
        if self.flux_explanations is not None and self.gl_mapping is None:
            raise InputError(
                "flux_explanations", "the flux review needs a GL mapping: give --gl-mapping too"
            )
        self._check_engine()

    def _check_engine(self) -> None:
        """The engine and its settings, checked here so a bad one fails before the load."""
        if self.engine not in ENGINES:
            raise InputError("engine", f"expected frames or spark, got {self.engine!r}")
        if self.engine == "spark" and self.suites == "sql":
            raise InputError("engine", "spark runs the invariants on Spark: drop suites sql")
        if not self.spark_master.strip():
            raise InputError("spark_master", "must not be empty")
        if _MEMORY.fullmatch(self.spark_driver_memory) is None:
            raise InputError(
                "spark_driver_memory",
                f"expected a size such as 1g or 512m, got {self.spark_driver_memory!r}",
            )

    @property
    def month(self) -> Period:
        """The period as a ``Period``."""
        return Period.month(self.period)

    @property
    def as_of_day(self) -> dt.date:
        """The day breaks are aged to."""
        return dt.date.fromisoformat(self.as_of) if self.as_of else self.month.last_day

    @property
    def rules_path(self) -> Path:
        """The rules file used (the given one, else ``rules/default.toml``)."""
        if self.rules is not None:
            return Path(self.rules)
        for candidate in (REPO_ROOT / DEFAULT_RULES, Path.cwd() / DEFAULT_RULES):
            if candidate.is_file():
                return candidate
        raise InputError(str(DEFAULT_RULES), "no default rules file found: pass rules=FILE")

    @property
    def spark_settings(self) -> SparkSettings:
        """The session ``engine="spark"`` asks for."""
        return SparkSettings(
            master=self.spark_master,
            driver_memory=self.spark_driver_memory,
            codegen=self.spark_codegen,
        )

    def as_text(self) -> dict[str, str]:
        """The parameters as manifest text (name -> value); absent ones read ``-``.

        The engine and its settings are listed for a Spark close only: a frames close's
        manifest (and the workpaper's cover, which shows it) keeps the bytes it had.
        """
        return {
            "source": self.source,
            "source_mapping": self.source_mapping or "-",
            "adapter": self.adapter or "-",
            "period": self.period,
            "statements": ", ".join(self.statements) or "-",
            "gl_mapping": self.gl_mapping or "-",
            "rules": str(self.rules_path) if self.statements else (self.rules or "-"),
            "checkpoints": self.checkpoints or "-",
            "suites": self.suites,
            "basis": self.basis,
            "granularity": self.granularity,
            "materiality": str(self.materiality),
            "as_of": self.as_of_day.isoformat(),
            "statement_encoding": self.statement_encoding or "-",
            "jet_rules": self.jet_rules or "built-in defaults",
            "flux_explanations": self.flux_explanations or "-",
            **(self._spark_text() if self.engine == "spark" else {}),
        }

    def _spark_text(self) -> dict[str, str]:
        """The engine's parameters as the manifest records them (what the close ran on)."""
        return {
            "engine": self.engine,
            "spark_master": self.spark_master,
            "spark_driver_memory": self.spark_driver_memory,
            "spark_codegen": "on" if self.spark_codegen else "off",
        }


@dataclass(frozen=True, slots=True, eq=False)
class MonthEndClose:
    """Everything one close computed (values; rendered and written elsewhere).

    Attributes:
        parameters: what it ran on.
        frames: the loaded ledger (for drill-downs).
        load: what the reader read, kept and rejected.
        audit: the integrity checks' results.
        statements: the parsed statements (None without statements).
        rules: the reconciliation rules (None without statements).
        reconciliation: the matches and breaks (None without statements).
        drift: ledger against bank over the period (None without statements).
        bank_reconciliation: the statement per bank account at the period's end (None
            without statements).
        trial_balance: the period's trial balance.
        mapping: the GL mapping (None without one).
        journals: the summary journals (None without a mapping).
        results: each stage's check result: the audit's checks, then statements,
            reconciliation, drift and journals (``no data`` when skipped).
        findings: every finding of every stage, merged, most severe first, then by amount
            (``reports.exceptions.by_severity``).
        readable: ``findings`` with their amounts written for a reader
            (``reports.exceptions.readable_findings``): what the report and the workpaper
            show, computed once (2.3 s at 1M transactions), while ``tables/findings.*`` keep
            the exact text.
        timings: (stage, seconds) in running order: measurement, not evidence.
        analytics: journal-entry testing and the ledger-native analytics (their flags are
            in their own tables, never in ``findings``: ``close.analytics``).
    """

    parameters: CloseParameters
    frames: LedgerFrames
    load: LoadReport
    audit: AuditResult
    statements: ParsedStatement | None
    rules: MatchRules | None
    reconciliation: Reconciliation | None
    drift: DriftReport | None
    bank_reconciliation: BankReconciliation | None
    trial_balance: TrialBalance
    mapping: GlMapping | None
    journals: SummaryJournals | None
    results: tuple[CheckResult, ...]
    findings: pl.DataFrame
    readable: pl.DataFrame
    timings: tuple[tuple[str, float], ...] = field(default=())
    analytics: CloseAnalytics | None = None

    @property
    def critical(self) -> int:
        """How many findings are critical (``ledger-audit close`` exits 1 when any)."""
        return self.findings.filter(pl.col("severity") == Severity.CRITICAL).height

    def checks(self) -> pl.DataFrame:
        """One row per check: status, findings, and what it examined."""
        return pl.DataFrame(
            [
                {
                    "check": r.check,
                    "status": r.status,
                    "findings": r.findings.height,
                    "checked": r.coverage.checked,
                    "unit": r.coverage.unit,
                    "scope": r.coverage.scope,
                    "unproven": "; ".join(r.coverage.unproven),
                }
                for r in self.results
            ],
            schema={
                "check": pl.String(),
                "status": pl.String(),
                "findings": pl.Int64(),
                "checked": pl.Int64(),
                "unit": pl.String(),
                "scope": pl.String(),
                "unproven": pl.String(),
            },
        )

    def findings_by_rule(self) -> pl.DataFrame:
        """Findings counted per rule and severity, most severe first."""
        from ledger_audit.findings import SEVERITY_RANK  # noqa: PLC0415 - one use

        rank = {str(k): v for k, v in SEVERITY_RANK.items()}
        return (
            self.findings.group_by("rule", "severity")
            .len("count")
            .with_columns(pl.col("count").cast(pl.Int64()))
            .sort(pl.col("severity").replace_strict(rank, return_dtype=pl.Int32()), "rule")
        )


def run_close(
    parameters: CloseParameters,
    *,
    on_stage: OnStage | None = None,
    spill_to: Path | Literal["default"] | None = "default",
    spill_min_bytes: int = SPILL_MIN_BYTES,
) -> MonthEndClose:
    """Run every stage of the close over ``parameters`` (see the module docstring).

    The loaded ledger and each stage's large results (statement records, reconciliation
    links, journal drill-down, JET findings: frames of ``spill_min_bytes`` or more) are
    moved into memory-mapped files under ``spill_to`` as they are made (``sources.spill``):
    the same frames, out of the heap, so the kernel can drop their pages and read them
    back when memory is short. ``"default"``: ``$LEDGER_AUDIT_SPILL`` or the user's cache
    folder; None: everything stays in memory. Neither changes a value. The audit's legs
    go there too (``checks.invariants``, through the run's active spill).

    Raises:
        InputError: an input that cannot be read (ledger, statements, rules, mapping,
            checkpoints), naming the file and what was wrong. Audit failures are findings.
    """
    folder = default_folder() if spill_to == "default" else spill_to
    with (
        spill_area(folder, spill_min_bytes) as spill,
        StatementsInBackground(
            parameters.statements, encoding=parameters.statement_encoding, spool_under=folder
        ) as parsing,
    ):
        return _run_close(parameters, on_stage, spill, parsing)


def _run_close(
    parameters: CloseParameters,
    on_stage: OnStage | None,
    spill: Spill | None,
    parsing: StatementsInBackground,
) -> MonthEndClose:
    keep = _as_is if spill is None else spill.record
    timings: list[tuple[str, float]] = []
    clock = time.perf_counter()

    def done(stage: str) -> None:
        nonlocal clock
        release_free_heap()  # what a stage freed in the C heap is not held through the next
        now = time.perf_counter()
        timings.append((stage, now - clock))
        if on_stage is not None:
            on_stage(stage, now - clock)
        clock = now

    period = parameters.month
    # Read every small input first: a bad rules or mapping file fails in a second, not after
    # the audit has run for minutes.
    rules = read_match_rules(parameters.rules_path) if parameters.statements else None
    mapping = read_gl_mapping(Path(parameters.gl_mapping)) if parameters.gl_mapping else None
    earlier = read_checkpoints(Path(parameters.checkpoints)) if parameters.checkpoints else ()
    jet_params = read_jet_params(parameters.jet_rules) if parameters.jet_rules else None
    explanations = (
        read_explanations(Path(parameters.flux_explanations))
        if parameters.flux_explanations
        else None
    )
    read = keep(
        read_ledger(
            parameters.source,
            mapping=parameters.source_mapping,
            adapter=parameters.adapter,
            checkpoints=earlier,
        )
    )
    frames, load = read.frames, read.report
    done("load")

    spec = VerifySpec(
        source=parameters.source,
        checkpoints=read.chain_checkpoints(earlier),
        duplicate_window_ns=DAY_NS,
        suites=parameters.suites,
        engine=parameters.engine,
        spark_master=parameters.spark_master,
    )
    with _engine(parameters, read) as engine:
        audited = audit(frames, load, spec, engine.checks, native=read.native)
        done("audit")

        # parsed by a child process since the close began (large files), or here
        statements = keep(parsing.result()) if parameters.statements else None
        done("statements")

        reconciliation = None
        if statements is not None and rules is not None:
            window = Window(period.first_day, period.last_day, rules.lookback_days)
            reconciliation = keep(
                reconcile(
                    internal_items(frames, rules),  # not held once reconciled
                    statements.records,
                    rules,
                    as_of=parameters.as_of_day,
                    window=window,
                    run=engine.stages,
                )
            )
        done("reconcile")

        drift = None
        if statements is not None and rules is not None and reconciliation is not None:
            drift = build_drift_report(
                frames,
                statements.balances,
                reconciliation,
                rules.bank_accounts(),
                records=statements.records,
                first_day=period.first_day,
                last_day=period.last_day,
                materiality=parameters.materiality,
            )
        bank_reconciliation = (
            build_bank_reconciliation(drift, reconciliation)
            if drift is not None and reconciliation is not None
            else None
        )
        done("drift")

        # one roll-forward for the trial balance, JET completeness and the flux review,
        # which each replayed the same months (about half a minute a month at 10M)
        rolled = roll_forward_once(frames, close_roll_periods(period, flux=mapping is not None))
        trial_balance = engine.trial_balance(frames, period, parameters.basis, rolled)
    done("trial balance")  # a Spark session stops as its block ends, in this stage

    journals = None
    if mapping is not None:
        journals = keep(
            build_summary_journals(
                frames,
                mapping,
                period,
                parameters.granularity,
                basis=parameters.basis,
                trial_balance=trial_balance,
            )
        )
    done("journals")

    chain = next((r for r in audited.results if r.check == CHAIN_CHECK), None)
    analytics = keep(
        run_close_analytics(
            frames,
            period,
            jet_params,
            chain,
            mapping=mapping,
            flux_explanations=explanations,
            explanations_source=parameters.flux_explanations,
            rolled=rolled,
        )
    )
    del rolled
    done("analytics")

    results = (
        *audited.results,
        _statements_result(statements),
        _result("reconcile", reconciliation, "ledger items and bank records"),
        _result("drift", drift, "account-days"),
        _journals_result(journals, trial_balance),
    )
    from ledger_audit.checks.runner import merge_findings  # noqa: PLC0415 - one use

    findings = by_severity(merge_findings([r.findings for r in results]))
    return MonthEndClose(
        parameters=parameters,
        frames=frames,
        load=load,
        audit=audited,
        statements=statements,
        rules=rules,
        reconciliation=reconciliation,
        drift=drift,
        bank_reconciliation=bank_reconciliation,
        trial_balance=trial_balance,
        mapping=mapping,
        journals=journals,
        results=results,
        findings=findings,
        readable=readable_findings(findings),
        timings=tuple(timings),
        analytics=analytics,
    )


@dataclass(frozen=True, slots=True)
class _Engine:
    """Where the close's movable work runs.

    Attributes:
        checks: the audit's catalogue (the chain and the invariants on Spark, or not).
        stages: reconciliation's stage runner (None: every stage on the frames).
        trial_balance: ``build_trial_balance``'s signature, summed where the engine sums
            (Spark sums its own and leaves the frames' roll-forward aside).
    """

    checks: Sequence[Check]
    stages: StageRunner | None
    trial_balance: Callable[[LedgerFrames, Period, Basis, RolledForward | None], TrialBalance]


_FRAMES = _Engine(CATALOGUE, None, build_trial_balance)


@contextmanager
def _engine(parameters: CloseParameters, read: LedgerRead) -> Iterator[_Engine]:
    """The frames; or one Spark session over the loaded ledger's views, for the block.

    As ``verify --engine spark``: Spark reads a Parquet folder or a PostgreSQL URL itself
    when every row of it loaded unmapped; otherwise it is shipped the loaded frames, so both
    engines judge the same rows.
    """
    if parameters.engine == "frames":
        yield _FRAMES
        return
    # pyspark's modules load only when Spark is asked for
    from ledger_audit.spark.reconcile import SparkStages  # noqa: PLC0415
    from ledger_audit.spark.run import settings_for, spark_catalogue, spark_run  # noqa: PLC0415
    from ledger_audit.spark.trial_balance import build_trial_balance_spark  # noqa: PLC0415

    source = parameters.source
    settings = settings_for(parameters.spark_settings, source)  # the JDBC jar for PostgreSQL
    as_loaded = (
        parameters.source_mapping is None
        and parameters.adapter is None
        and read.report.rejections.is_empty()
    )
    with spark_run(settings, source, read.frames, as_loaded=as_loaded) as run:

        def trial_balance(
            _frames: LedgerFrames, period: Period, basis: Basis, _rolled: RolledForward | None
        ) -> TrialBalance:
            return build_trial_balance_spark(run.spark, period, basis)

        yield _Engine(spark_catalogue(), SparkStages(run.spark), trial_balance)


def _as_is(record: _Record) -> _Record:
    return record


def _skipped(check: str, unit: str, why: str) -> CheckResult:
    return CheckResult(
        check=check,
        findings=empty_findings(),
        coverage=Coverage(checked=0, unit=unit, scope="not run", unproven=(why,)),
    )


def _statements_result(statements: ParsedStatement | None) -> CheckResult:
    if statements is None:
        return _skipped("statements", "statement records", "no statements were given")
    read = sum(c.read for c in statements.counts)
    return CheckResult(
        check="statements",
        findings=statements.findings,
        coverage=Coverage(
            checked=read,
            unit="statement records, balances and structure lines",
            scope=statements.path,
        ),
    )


def _result(check: str, report: Reconciliation | DriftReport | None, unit: str) -> CheckResult:
    if report is None:
        return _skipped(check, unit, "no statements were given")
    return CheckResult(check=check, findings=report.findings, coverage=report.coverage)


def _journals_result(journals: SummaryJournals | None, trial_balance: TrialBalance) -> CheckResult:
    if journals is None:
        return _skipped("journals", "journal lines", "no GL mapping was given")
    unproven = []
    if not trial_balance.balanced:
        unproven.append("the trial balance does not total zero")
    if not journals.balanced:
        unproven.append("a summary journal does not balance")
    if not journals.ties_out:
        unproven.append("the summary journals do not tie out to the trial balance")
    return CheckResult(
        check="journals",
        findings=journals.findings,
        coverage=Coverage(
            checked=journals.lines.height,
            unit="journal lines",
            scope=f"{journals.period.label}, mapping {journals.mapping_version}",
            unproven=tuple(unproven),
        ),
    )
