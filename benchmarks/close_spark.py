"""bench_close's ``spark`` child: the close's stages that have a Spark path, on Spark local.

Run by ``bench_close.py`` in a fresh process (``--child spark``), beside its ``stages``
child (the frames). In order, one JSON line per stage as it ends:

- ``session``: the SparkSession starts (the JVM is a child process of this one);
- ``load``: the ledger read into frames by the close's reader (SQLite), as the frames path
  does; the chain and invariant checks classify on the driver from these frames;
- ``to Parquet``: the frames written as the canonical Parquet folder
  (``exports.snapshot``) and registered as Spark views that Spark reads itself (on a
  cluster the folder would already be on shared storage, or the views would be JDBC);
- ``chain``, ``invariants``: ``spark.chain.check_chain_spark``,
  ``spark.invariants.check_invariants_spark``;
- ``balances``: ``spark.replay.balances_as_of_spark`` at the period's last instant;
- ``statements`` and ``reconcile``: the close's reconciliation of the month with the keyed
  stages (key, group, exact) on Spark (``spark.reconcile.SparkStages``); its steps are
  emitted too (prepare, each stage, classify).

Memory: a thread samples ``/proc`` every 0.2 s for this process and every descendant (the
JVM): each one's ``VmHWM`` (its own peak, kept by the kernel) and the sum of the tree's
``VmRSS`` at one moment. Each stage line carries the driver's ``ru_maxrss``, the largest
descendant's ``VmHWM`` so far and the tree sum's peak so far.

Then, unless ``--no-twins``, the frames twin of each Spark stage runs in the same process
on the same loaded frames (``check_chain``, ``check_invariants``, ``balances_as_of``, the
frames reconciliation) and its result is compared with Spark's, whole frames: the line says
``same``. The twins run after the Spark stages, so the memory figures above do not include
them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import threading
import time
from pathlib import Path
from typing import Any, Self

from proc_memory import descendants, status_mib

SAMPLE_S = 0.2
MIB = 2**20
SPARK_STAGES = (
    "session",
    "load",
    "to Parquet",
    "chain",
    "invariants",
    "balances",
    "statements",
    "reconcile",
)


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


class TreeSampler:
    """Peaks of this process tree while it runs: the largest descendant's VmHWM, the
    sum of the tree's VmRSS at one moment (sampled every 0.2 s by a thread)."""

    def __init__(self) -> None:
        self.child_hwm = 0.0
        self.tree_sum = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        """One sample now."""
        now = status_mib(os.getpid()).get("VmRSS", 0.0)
        for pid in descendants(os.getpid()):
            status = status_mib(pid)
            now += status.get("VmRSS", 0.0)
            self.child_hwm = max(self.child_hwm, status.get("VmHWM", 0.0))
        self.tree_sum = max(self.tree_sum, now)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def child_spark(  # noqa: PLR0915 - one stage after another, each timed where it runs
    folder: Path,
    out: Path,
    *,
    period: str,
    statements: list[str],
    master: str,
    driver_memory: str,
    twins: bool,
) -> None:
    """The Spark stages, each emitted as it ends; then the frames twins (module docstring)."""
    from ledger_audit.checks.chain import check_chain  # noqa: PLC0415 - in the child only
    from ledger_audit.checks.invariants import check_invariants  # noqa: PLC0415
    from ledger_audit.cli import default_rules_path  # noqa: PLC0415
    from ledger_audit.exports.snapshot import write_ledger_snapshot  # noqa: PLC0415
    from ledger_audit.reconcile.internal import internal_items  # noqa: PLC0415
    from ledger_audit.reconcile.match import reconcile  # noqa: PLC0415
    from ledger_audit.reconcile.normalise import Window  # noqa: PLC0415
    from ledger_audit.replay.balances import balances_as_of  # noqa: PLC0415
    from ledger_audit.sources.bank.load import load_statements  # noqa: PLC0415
    from ledger_audit.sources.load import load_ledger  # noqa: PLC0415
    from ledger_audit.sources.match_rules import read_match_rules  # noqa: PLC0415
    from ledger_audit.spark.chain import check_chain_spark  # noqa: PLC0415
    from ledger_audit.spark.invariants import check_invariants_spark  # noqa: PLC0415
    from ledger_audit.spark.reconcile import SparkStages  # noqa: PLC0415
    from ledger_audit.spark.replay import balances_as_of_spark  # noqa: PLC0415
    from ledger_audit.spark.session import SparkSettings, start_session  # noqa: PLC0415
    from ledger_audit.spark.tables import register_parquet  # noqa: PLC0415
    from ledger_audit.spec import Period, VerifySpec  # noqa: PLC0415

    month = Period.month(period)
    at = month.end_ns - 1
    with TreeSampler() as tree:
        clock = time.perf_counter()

        def done(stage: str, **extra: Any) -> None:  # noqa: ANN401 - JSON values
            nonlocal clock
            now = time.perf_counter()
            tree.sample()
            _emit(
                {
                    "spark_stage": stage,
                    "seconds": now - clock,
                    "driver_peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                    "jvm_peak_mib": tree.child_hwm,
                    "tree_peak_mib": tree.tree_sum,
                    **extra,
                }
            )
            clock = time.perf_counter()

        settings = SparkSettings(master=master, driver_memory=driver_memory)
        spark = start_session(settings)
        done("session", master=master, driver_memory=driver_memory)
        frames, _ = load_ledger(folder / "ledger.sqlite")
        done("load", versions=frames.transactions.height, entries=frames.entries.height)
        parquet = out / "parquet"
        write_ledger_snapshot(frames, parquet, "parquet")
        tables = register_parquet(spark, str(parquet.resolve()))
        done("to Parquet")
        spec = VerifySpec(source=str(folder / "ledger.sqlite"))
        chain = check_chain_spark(frames, spec, spark)
        done("chain", findings=chain.findings.height)
        invariants = check_invariants_spark(frames, spec, spark, tables.describe())
        done("invariants", findings=invariants.findings.height)
        balances = balances_as_of_spark(spark, at, "effective")
        done("balances", rows=balances.height)
        rules = read_match_rules(default_rules_path())
        parsed = load_statements(statements)
        items = internal_items(frames, rules)
        window = Window(month.first_day, month.last_day, rules.lookback_days)
        as_of: dt.date = month.last_day
        done("statements", records=parsed.records.height, items=items.height)
        steps: list[tuple[str, float]] = []
        step_clock = time.perf_counter()

        def step(name: str) -> None:
            nonlocal step_clock
            now = time.perf_counter()
            steps.append((name, now - step_clock))
            step_clock = now

        runner = SparkStages(spark)
        recon = reconcile(
            items, parsed.records, rules, as_of=as_of, window=window, on_stage=step, run=runner
        )
        done("reconcile", matches=recon.matches.height, steps=steps, on_spark=runner.ran)
    if not twins:
        spark.stop()
        return

    def twin(stage: str, seconds: float, same: bool) -> None:
        _emit({"twin": stage, "seconds": seconds, "same": same})

    clock = time.perf_counter()
    result = check_chain(frames, spec)
    twin("chain", time.perf_counter() - clock, result.findings.equals(chain.findings))
    clock = time.perf_counter()
    result = check_invariants(frames, spec)
    twin("invariants", time.perf_counter() - clock, result.findings.equals(invariants.findings))
    clock = time.perf_counter()
    expected = balances_as_of(frames, at, "effective").collect()
    twin("balances", time.perf_counter() - clock, expected.equals(balances))
    clock = time.perf_counter()
    on_frames = reconcile(items, parsed.records, rules, as_of=as_of, window=window)
    seconds = time.perf_counter() - clock
    same = all(
        frame.equals(recon.frames()[name], null_equal=True)
        for name, frame in on_frames.frames().items()
    )
    twin("reconcile", seconds, same)
    spark.stop()


def print_spark(records: list[dict[str, Any]]) -> None:
    """The Spark child's table: each stage's seconds beside its frames twin, and the peaks."""
    twins = {r["twin"]: r for r in records if "twin" in r}
    print(
        f"{'Spark stage':<22}{'seconds':>10}{'frames s':>10}{'same':>6}"
        f"{'driver MiB':>12}{'JVM MiB':>10}{'tree MiB':>10}"
    )
    for r in records:
        if "spark_stage" not in r:
            continue
        name = r["spark_stage"]
        twin = twins.get(name)
        beside = (
            f"{twin['seconds']:>10.2f}{'yes' if twin['same'] else 'NO':>6}" if twin else " " * 16
        )
        print(
            f"{name:<22}{r['seconds']:>10.2f}{beside}{r['driver_peak_mib']:>12,.0f}"
            f"{r['jvm_peak_mib']:>10,.0f}{r['tree_peak_mib']:>10,.0f}"
        )
        if name == "reconcile":
            steps = ", ".join(f"{s} {t:.2f}" for s, t in r["steps"])
            print(f"  reconcile steps (s): {steps}; on Spark: {', '.join(r['on_spark'])}")
    ran = [r for r in records if "spark_stage" in r]
    if ran:
        last = ran[-1]
        print(
            f"{'total (Spark)':<22}{sum(r['seconds'] for r in ran):>10.2f}{'':>16}"
            f"{last['driver_peak_mib']:>12,.0f}{last['jvm_peak_mib']:>10,.0f}"
            f"{last['tree_peak_mib']:>10,.0f}"
        )
    print(
        "  frames s: the same stage on the frames in the same child (its twin), result compared"
        " whole; 'load' is the frames' own reader; the peaks (MiB) are before the twins ran:"
        " the driver's ru_maxrss, the JVM's VmHWM, the tree's summed VmRSS"
    )
