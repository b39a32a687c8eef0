"""Benchmark: the full month-end close on demo ledgers, per stage, against the headless notebook.

For each size N (demo transactions, default 100,000 and 1,000,000) it builds the demo once,
``ledger-audit demo --transactions N --seed 7 --out WORKDIR/demo-N``, reused when that
folder's ``demo.json`` records the same transactions and seed; the build time is reported
apart, it is not part of the close. Then, each in a fresh child process, so that a child's
``ru_maxrss`` is its own and nothing big is held by this process:

- ``stages``: ``run_close`` over 2025-01 with the demo's three statements (BAI2, camt.053
  and the processor's Stripe payouts report, as ``scripts/demo.sh`` gives them) and
  ``mappings/demo.toml``, then ``write_bundle``: wall seconds of each stage (load, audit,
  statements, reconcile, drift, trial balance, journals, then bundle), the child's RSS now
  and its peak RSS so far after each stage, each stage's CPU seconds (all threads) and its
  own peak (RSS sampled every 20 ms from a thread: "its peak"), the total and the number of
  findings. The bundle's own peak is sampled (every 20 ms, from a thread) while it is
  written, beside the RSS before it: ``ru_maxrss`` only grows, so it cannot show what the
  bundle adds.
  The close spills as a user's does (``sources.spill``: the loaded ledger and the large
  results in memory-mapped files, here under WORKDIR/spill); ``--spill off`` keeps them in
  the heap and ``--spill both`` runs the child both ways, off first. Beside each stage's
  RSS peak it prints its heap peak (``RssAnon``: RSS less mapped files' pages, which the
  kernel can drop), and the size of the mapped files at the end. With ``--memory-limit
  SIZE`` each stages child runs in its own memory cgroup of that size (``memory_cgroup``;
  needs a writable cgroup hierarchy) and the report says whether it completed within it:
  the measure of what a close needs that RSS is not, once pages are file-backed.
- ``cli``: the real command, ``ledger-audit close`` (papermill runs the close notebook in an
  IPython kernel, whose last cell writes the same bundle; the CLI then adds the executed
  notebook and swaps the folder in): wall seconds and peak RSS. Exit 1 is expected (the
  demo's planted critical findings); any other exit is a failure and is reported.

How the ``cli`` memory is measured, and why it is honest: the kernel, where the close
runs, is a grandchild (jupyter_client starts it in its own session and reaps it with
``Popen.wait``/``poll`` when papermill shuts it down). ``getrusage(RUSAGE_CHILDREN)`` taken
after the CLI exits therefore covers the CLI and the kernel; on Linux its ``ru_maxrss`` is
the peak of the *largest single* descendant, not of the tree's sum. So the ``cli`` child
also samples ``/proc`` every 0.2 s while the CLI runs: each descendant's ``VmHWM`` (its own
peak, kept by the kernel, so sampling cannot miss it unless the process dies within 0.2 s
of its peak) and the sum of the tree's ``VmRSS`` (CLI + kernel at the same moment, which
``ru_maxrss`` cannot give). It prints all three, and whether ``RUSAGE_CHILDREN`` agrees
with the kernel's sampled ``VmHWM`` (it did on every run so far: the kernel is captured).

- ``baselines``: the balances the close reports (every account x asset as of the period's
  last instant, effective basis) computed three ways over the same demo, after one load
  (timed apart): the package's replay (``balances_as_of``) over the loaded frames, one
  DuckDB SQL query (``bench_replay.DUCKDB_SQL``) over a Parquet snapshot of them, and a
  plain polars query written the same way as that SQL over the same Parquet files; the
  three results are compared (SHA-256 of the sorted rows) and the ratios printed.

- ``spark`` (with ``--spark``, or alone with ``--spark-only``): the close's stages that have
  a Spark path on Spark (``--spark-master``, default ``local[*]``; ``--spark-driver-memory``,
  default 4g): session start, load, the frames to a Parquet folder Spark reads, chain,
  invariants, balances at the period's end, statements, and the reconciliation with its
  keyed stages on Spark; then each stage's frames twin in the same child, its result
  compared whole (``--no-twins`` skips them). Peak RSS of the driver and of the JVM (a
  descendant: ``/proc`` VmHWM sampled every 0.2 s, as the ``cli`` child does) and of the
  tree's sum, before the twins run. See ``close_spark.py``.

The comparison printed in the same run is ``cli`` against ``stages``: what papermill, the
kernel start, the notebook's displayed sections and the bundle placement cost, in seconds
and as a ratio (against the stages alone, and against the whole ``stages`` process
including interpreter start and imports). Also printed: each bundle's size (report.html,
workpaper.xlsx, tables/, erp/, the executed notebook).

A child that runs longer than ``--timeout`` minutes is stopped (by its pid, and the kernel's)
and the report says where it was: the last stage finished and the RSS at that moment.
Figures are wall-clock on a shared machine: expect run-to-run noise; nothing is asserted.

Usage::

    python benchmarks/bench_close.py                       # 100,000 and 1,000,000
    python benchmarks/bench_close.py --transactions 20000
    python benchmarks/bench_close.py --transactions 100000 --workdir /tmp/close-bench
    python benchmarks/bench_close.py --transactions 200000 --no-cli   # the stages child only
    python benchmarks/bench_close.py --transactions 1000000 --baselines-only
    python benchmarks/bench_close.py --transactions 1000000 --no-cli --no-baselines --spill both
    python benchmarks/bench_close.py --transactions 1000000 --no-cli --spill both --memory-limit 3G
    python benchmarks/bench_close.py --transactions 100000 --no-cli --spark
    python benchmarks/bench_close.py --transactions 100000 --spark-only --spark-master 'local[2]'

Demos and bundles go to ``--workdir`` (default ``/tmp/ledger-audit-bench-close``).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import queue
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Self

from close_spark import child_spark, print_spark
from memory_cgroup import MemoryCgroup, parse_size
from proc_memory import descendants, status_mib

from ledger_audit.sources.spill import SPILL_ENV

if TYPE_CHECKING:
    import polars as pl

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "ledger-audit"
MAPPING = ROOT / "mappings" / "demo.toml"
SEED = 7
PERIOD = "2025-01"
STATEMENTS = ("operating-usd.bai2", "operating-eur.xml", "processor-payouts.csv")
BUNDLE_PARTS = ("report.html", "workpaper.xlsx", "tables", "erp", "month_end_close.ipynb")
SAMPLE_S = 0.2
BASELINES = ("replay (package, loaded frames)", "DuckDB SQL (Parquet)", "plain polars (Parquet)")
MIB = 2**20


# -- memory -------------------------------------------------------------------------------


def _peak_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _rss_mib() -> float:
    pages = int(Path("/proc/self/statm").read_text(encoding="ascii").split()[1])
    return pages * resource.getpagesize() / MIB


def _heap_mib() -> float:
    """``RssAnon``: resident pages no file backs (what a spilled frame's pages are not)."""
    return status_mib(os.getpid()).get("RssAnon", 0.0)


class _RssSampler:
    """The highest RSS of this process while the block runs, sampled every 20 ms by a thread.

    ``ru_maxrss`` only grows: it cannot show what one step adds after a bigger one. Sampling
    can miss a spike shorter than 20 ms; polars and Arrow memory is in RSS (tracemalloc
    does not see it). ``heap_peak`` is the same for ``RssAnon``: RSS less the pages of
    mapped files (a spilled frame's, ``sources.spill``), which the kernel can evict.

    Every tenth sample also reads this process's descendants (the statements' parse runs in
    a child beside the load, ``sources.bank.background``): ``children`` is each one's own
    peak (``VmHWM``, by command name), ``together_peak`` the highest RSS of this process and
    its descendants at the same sample.
    """

    def __init__(self) -> None:
        self.peak = 0.0
        self.heap_peak = 0.0
        self.together_peak = 0.0
        self.children: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for tick in itertools.count():
            if self._stop.is_set():
                break
            rss = _rss_mib()
            self.peak = max(self.peak, rss)
            self.heap_peak = max(self.heap_peak, _heap_mib())
            if tick % 10 == 0:
                for pid, name in descendants(os.getpid()).items():
                    status = status_mib(pid)
                    rss += status.get("VmRSS", 0.0)
                    hwm = status.get("VmHWM", 0.0)
                    self.children[name] = max(self.children.get(name, 0.0), hwm)
                self.together_peak = max(self.together_peak, rss)
            self._stop.wait(0.02)

    def __enter__(self) -> Self:
        self.peak = _rss_mib()
        self.heap_peak = _heap_mib()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())

    def take(self) -> tuple[float, float]:
        """The highest RSS and heap since the last ``take`` (or the start); the next starts now."""
        now, heap = _rss_mib(), _heap_mib()
        peak, self.peak = max(self.peak, now), now
        heap_peak, self.heap_peak = max(self.heap_peak, heap), heap
        return peak, heap_peak


# -- the demo -----------------------------------------------------------------------------


def demo_dir(workdir: Path, n: int) -> tuple[Path, float | None]:
    """The demo of N transactions in ``workdir`` (built unless there) and its build time."""
    folder = workdir / f"demo-{n}"
    meta = folder / "demo.json"
    if meta.is_file() and (folder / "ledger.sqlite").is_file():
        params = json.loads(meta.read_text(encoding="utf-8")).get("parameters", {})
        if params.get("transactions") == n and params.get("seed") == SEED:
            return folder, None
    print(f"building the demo of {n:,} transactions in {folder} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    argv = [str(CLI), "demo", "--transactions", str(n), "--seed", str(SEED), "--out", str(folder)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"ledger-audit demo failed ({done.returncode}): {done.stderr}")
    return folder, time.perf_counter() - started


def _statements(folder: Path) -> list[str]:
    return [str(folder / "statements" / name) for name in STATEMENTS]


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


# -- the children -------------------------------------------------------------------------


def child_stages(folder: Path, out: Path) -> None:
    """``run_close`` then ``write_bundle``; one JSON line per stage as it ends, then totals."""
    started = time.perf_counter()
    from ledger_audit.close.bundle import write_bundle  # noqa: PLC0415 - in the child only
    from ledger_audit.close.run import CloseParameters, run_close  # noqa: PLC0415

    _emit({"imports": time.perf_counter() - started, "peak_mib": _peak_mib()})

    # Each stage's own peak, sampled: ru_maxrss only grows, so after the biggest stage it
    # says nothing of the next ones. CPU seconds: all threads (polars, DuckDB), steadier
    # than wall seconds on a shared machine.
    cpu = [time.process_time()]
    stages = _RssSampler()

    def on_stage(name: str, seconds: float) -> None:
        now = time.process_time()
        peak, heap_peak = stages.take()
        _emit(
            {
                "stage": name,
                "seconds": seconds,
                "cpu_seconds": now - cpu[0],
                "rss_mib": _rss_mib(),
                "peak_mib": _peak_mib(),
                "stage_peak_mib": peak,
                "stage_heap_peak_mib": heap_peak,
            }
        )
        cpu[0] = now

    began = time.perf_counter()
    with stages:
        close = run_close(
            CloseParameters(
                source=str(folder / "ledger.sqlite"),
                period=PERIOD,
                statements=tuple(_statements(folder)),
                gl_mapping=str(MAPPING),
            ),
            on_stage=on_stage,
        )
        spilled = _spilled_mib()
        clock = time.perf_counter()
        before = _rss_mib()
        with _RssSampler() as sampled:
            write_bundle(close, out, run_time_ns=time.time_ns())
        on_stage("bundle", time.perf_counter() - clock)
    _emit({"bundle_rss_before_mib": before, "bundle_rss_peak_mib": sampled.peak})
    _emit(
        {
            "total": time.perf_counter() - began,
            "peak_mib": _peak_mib(),
            "findings": close.findings.height,
            "critical": close.critical,
            "versions": close.frames.transactions.height,
            "entries": close.frames.entries.height,
            "spilled_mib": spilled,
            # the child processes (the statements' parse beside the load, the PDF printer)
            "children_mib": stages.children,
            "together_peak_mib": stages.together_peak,
        }
    )


def _spilled_mib() -> float:
    """The size of the spill's mapped files (``sources.spill``: unlinked once mapped)."""
    folder = os.environ.get(SPILL_ENV, "")
    if not folder or folder == "off":
        return 0.0
    total = 0
    for line in Path("/proc/self/maps").read_text(encoding="utf-8").splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and fields[5].startswith(folder):
            start, end = (int(x, 16) for x in fields[0].split("-"))
            total += end - start
    return total / MIB


def _plain_polars(folder: Path, at: int) -> pl.DataFrame:
    """The same balances as ``bench_replay.DUCKDB_SQL``, written as plain polars."""
    import polars as pl  # noqa: PLC0415 - in the child only

    key = ["ledger_id", "transaction_id"]
    seen = pl.scan_parquet(folder / "transactions.parquet").filter(pl.col("effective_ns") <= at)
    latest = seen.group_by(key).agg(pl.col("version").max())
    resolved = (
        seen.filter(pl.col("pending_transaction_id").is_not_null())
        .select("ledger_id", pl.col("pending_transaction_id").alias("transaction_id"))
        .unique()
        .with_columns(pl.lit(value=True).alias("resolved"))
    )
    counting = (
        seen.join(latest, on=[*key, "version"])
        .join(resolved, on=key, how="left")
        .select(
            *key,
            "version",
            pl.when(pl.col("resolved") & (pl.col("status") == "pending"))
            .then(pl.lit("resolved"))
            .otherwise(pl.col("status"))
            .alias("status"),
        )
    )
    entries = pl.scan_parquet(folder / "entries.parquet").join(counting, on=[*key, "version"])

    def cell(status: str, direction: str) -> pl.Expr:
        picked = (pl.col("status") == status) & (pl.col("direction") == direction)
        return pl.col("amount").filter(picked).sum()

    sums = entries.group_by("ledger_id", "account_id", "asset_id").agg(
        cell("posted", "debit").alias("posted_debits"),
        cell("posted", "credit").alias("posted_credits"),
        cell("pending", "debit").alias("pending_debits"),
        cell("pending", "credit").alias("pending_credits"),
    )
    credit = pl.col("normal_balance") == "credit"
    net = pl.col("posted_credits") - pl.col("posted_debits")
    accounts = pl.scan_parquet(folder / "accounts.parquet").select(
        "ledger_id", "account_id", "normal_balance"
    )
    return (
        sums.join(accounts, on=["ledger_id", "account_id"], how="left")
        .with_columns(
            pl.when(credit).then(net).otherwise(-net).alias("posted"),
            pl.when(credit)
            .then(net - pl.col("pending_debits"))
            .otherwise(-net - pl.col("pending_credits"))
            .alias("available"),
        )
        .collect()
    )


def child_baselines(folder: Path, out: Path) -> None:
    """One load, then the period-end balances by the package, DuckDB and plain polars."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import duckdb  # noqa: PLC0415
    from bench_replay import DUCKDB_SQL, digest  # noqa: PLC0415 - beside this script

    from ledger_audit.exports.snapshot import write_ledger_snapshot  # noqa: PLC0415
    from ledger_audit.replay.balances import balances_as_of  # noqa: PLC0415
    from ledger_audit.sources.load import load_ledger  # noqa: PLC0415
    from ledger_audit.spec import Period  # noqa: PLC0415

    at = Period.month(PERIOD).end_ns - 1
    clock = time.perf_counter()
    frames, _ = load_ledger(folder / "ledger.sqlite")
    _emit({"baseline": "load (SQLite, the close's reader)", "seconds": time.perf_counter() - clock})
    snapshot = out / "snapshot"
    shutil.rmtree(snapshot, ignore_errors=True)
    write_ledger_snapshot(frames, snapshot, "parquet")

    def replay() -> pl.DataFrame:
        return balances_as_of(frames, at, "effective").collect()

    def duck() -> pl.DataFrame:
        with duckdb.connect() as conn:
            found: pl.DataFrame = conn.sql(DUCKDB_SQL.format(folder=snapshot, at=at)).pl()
            return found

    def plain() -> pl.DataFrame:
        return _plain_polars(snapshot, at)

    runs = (replay, duck, plain)
    for label, run in zip(BASELINES, runs, strict=True):
        times = []
        for _ in range(3):
            clock = time.perf_counter()
            result = run()
            times.append(time.perf_counter() - clock)
        best = min(times)
        _emit({"baseline": label, "seconds": best, "rows": result.height, "digest": digest(result)})
    _emit({"peak_mib": _peak_mib(), "entries": frames.entries.height})
    shutil.rmtree(snapshot, ignore_errors=True)


def child_cli(folder: Path, out: Path) -> None:
    """``ledger-audit close`` as a subprocess, its process tree sampled while it runs."""
    argv = [str(CLI), "close", "--period", PERIOD, "--ledger", str(folder / "ledger.sqlite")]
    argv += ["--statements", *_statements(folder), "--gl-mapping", str(MAPPING), "--out", str(out)]
    hwm: dict[int, tuple[str, float]] = {}
    tree_sum = 0.0
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        cli = subprocess.Popen(argv, stdout=stdout, stderr=stderr, text=True)
        _emit({"pid": cli.pid})
        while cli.poll() is None:
            tree = {cli.pid: "ledger-audit", **descendants(cli.pid)}
            now = 0.0
            for pid, name in tree.items():
                status = status_mib(pid)
                now += status.get("VmRSS", 0.0)
                if "VmHWM" in status:
                    hwm[pid] = (name, max(status["VmHWM"], hwm.get(pid, ("", 0.0))[1]))
            tree_sum = max(tree_sum, now)
            time.sleep(SAMPLE_S)
        seconds = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        printed, errors = stdout.read(), stderr.read()
    counted = re.search(r"([\d,]+) finding\(s\), ([\d,]+) critical", printed)
    kernel = max((v for pid, v in hwm.items() if pid != cli.pid), key=lambda v: v[1], default=None)
    _emit(
        {
            "seconds": seconds,
            "exit": cli.returncode,
            "stderr": errors.strip()[-2000:],
            "rusage_children_mib": _peak_mib(resource.RUSAGE_CHILDREN),
            "cli_hwm_mib": hwm.get(cli.pid, ("", 0.0))[1],
            "kernel": kernel,
            "tree_sum_mib": tree_sum,
            "findings": int(counted[1].replace(",", "")) if counted else None,
            "critical": int(counted[2].replace(",", "")) if counted else None,
        }
    )


# -- the parent ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SparkOptions:
    """How the ``spark`` child starts Spark, and whether it runs the frames twins."""

    master: str
    driver_memory: str
    twins: bool = True


class ChildError(Exception):
    """A child failed or ran past the timeout; ``records``: what it reported until then."""

    def __init__(self, records: list[dict[str, Any]], where: str) -> None:
        super().__init__(where)
        self.records = records


def _run_child(
    kind: str,
    folder: Path,
    out: Path,
    timeout_s: float,
    extra: tuple[str, ...] = (),
    *,
    env: dict[str, str] | None = None,
    cgroup: MemoryCgroup | None = None,
) -> list[dict[str, Any]]:
    """Run one child, echo its progress to stderr, return its JSON lines; stop it on timeout.

    With ``cgroup`` the child runs inside it (it joins before it execs); a child the kernel
    kills for want of memory ends as a failed child (exit -9), its last stage named.
    """
    shutil.rmtree(out, ignore_errors=True)
    argv = [sys.executable, __file__, "--child", kind, "--folder", str(folder), "--out", str(out)]
    argv += extra
    records: list[dict[str, Any]] = []
    lines: queue.Queue[str | None] = queue.Queue()
    started = time.perf_counter()
    with subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=None if env is None else {**os.environ, **env},
        preexec_fn=None if cgroup is None else cgroup.join,  # noqa: PLW1509 - one write
    ) as child:
        threading.Thread(target=_pump, args=(child.stdout, lines), daemon=True).start()
        while True:
            left = timeout_s - (time.perf_counter() - started)
            try:
                line = lines.get(timeout=max(left, 0.01))
            except queue.Empty:
                where = _stop(child, records, time.perf_counter() - started)
                raise ChildError(records, where) from None
            if line is None:
                break
            record = json.loads(line)
            records.append(record)
            if "spark_stage" in record or "twin" in record:
                name = record.get("spark_stage") or f"frames twin of {record['twin']}"
                print(f"  [{kind}] {name}: {record['seconds']:.1f} s", file=sys.stderr, flush=True)
            if "stage" in record:
                print(
                    f"  [{kind}] {record['stage']}: {record['seconds']:.1f} s, "
                    f"peak {record['peak_mib']:,.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
        stderr = child.stderr.read() if child.stderr else ""
        child.wait()
    records.append({"child_seconds": time.perf_counter() - started})
    if child.returncode != 0:
        stages = ", ".join(r["stage"] for r in records if "stage" in r) or "none"
        peak = max((r["peak_mib"] for r in records if "peak_mib" in r), default=0.0)
        where = (
            f"exit {child.returncode} after {records[-1]['child_seconds'] / 60:.1f} min; "
            f"stages finished: {stages} (peak RSS by then {peak:,.0f} MiB); "
            f"stderr: {stderr.strip()[-1500:]}"
        )
        raise ChildError(records, where)
    return records


def _pump(stream: IO[str] | None, lines: queue.Queue[str | None]) -> None:
    for line in stream or ():
        lines.put(line)
    lines.put(None)


def _stop(child: subprocess.Popen[str], records: list[dict[str, Any]], elapsed: float) -> str:
    """Stop a child that ran too long (and its close's processes); say where it was."""
    pids = [child.pid, *descendants(child.pid)]
    memory = ", ".join(
        f"pid {pid}: RSS {s.get('VmRSS', 0):,.0f} MiB, peak {s.get('VmHWM', 0):,.0f} MiB"
        for pid in pids
        if (s := status_mib(pid))
    )
    stages = [r["stage"] for r in records if "stage" in r]
    for pid in reversed(pids):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    child.wait()
    done = ", ".join(stages) if stages else "none"
    return f"stopped after {elapsed / 60:.1f} min; stages finished: {done}; {memory}"


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.is_file() else 0


def _row(label: str, seconds: float | None, rss: float | None, peak: float | None) -> str:
    cells = [f"{label:<20}"]
    cells += [
        f"{'' if v is None else format(v, f):>10}" for v, f in ((seconds, ".2f"), (rss, ",.0f"))
    ]
    cells.append(f"{'' if peak is None else format(peak, ',.0f'):>10}")
    return "".join(cells)


def _print_stages(records: list[dict[str, Any]]) -> dict[str, Any]:
    print(
        f"{'stage':<20}{'seconds':>10}{'RSS MiB':>10}{'peak MiB':>10}{'CPU s':>9}{'its peak':>10}"
        f"{'its heap':>10}"
    )
    for r in records:
        if "imports" in r:
            print(_row("(imports)", r["imports"], None, r["peak_mib"]))
        elif "stage" in r:
            own = (
                f"{r['cpu_seconds']:>9.1f}{r['stage_peak_mib']:>10,.0f}"
                f"{r.get('stage_heap_peak_mib', 0.0):>10,.0f}"
                if "cpu_seconds" in r
                else ""
            )
            print(_row(r["stage"], r["seconds"], r["rss_mib"], r["peak_mib"]) + own)
    return next((r for r in records if "total" in r), {})


def _print_baselines(records: list[dict[str, Any]]) -> None:
    rows = [r for r in records if "baseline" in r]
    peak = next((r["peak_mib"] for r in records if "entries" in r and "peak_mib" in r), None)
    print(f"{'balances at the period end':<36}{'best of 3 s':>12}{'rows':>10}  sha256[:16]")
    timed = [r for r in rows if "digest" in r]
    for r in rows:
        cells = f"{r['rows']:>10,}  {r['digest'][:16]}" if "digest" in r else ""
        print(f"{r['baseline']:<36}{r['seconds']:>12.2f}{cells}")
    if len(timed) == len(BASELINES):
        replay, duck, plain = (r["seconds"] for r in timed)
        same = "yes" if len({r["digest"] for r in timed}) == 1 else "NO"
        print(
            f"  replay / DuckDB = {replay / duck:.2f}x, replay / plain polars = "
            f"{replay / plain:.2f}x; same balances from all three: {same}; "
            f"peak RSS of the child {peak or 0:,.0f} MiB"
        )


def _print_cli(cli: dict[str, Any]) -> None:
    kernel = cli["kernel"][1] if cli["kernel"] else 0.0
    children = cli["rusage_children_mib"]
    print(_row("ledger-audit close", cli["seconds"], None, children))
    agrees = kernel > 0 and abs(children - kernel) <= 0.02 * kernel + 8
    print(
        f"  peak RSS: RUSAGE_CHILDREN {children:,.0f} MiB (largest single process); sampled "
        f"kernel {kernel:,.0f}, CLI {cli['cli_hwm_mib']:,.0f}, tree sum {cli['tree_sum_mib']:,.0f}"
        f" MiB; RUSAGE_CHILDREN {'= the kernel' if agrees else 'does NOT match the kernel'}"
    )
    expected = "expected" if cli["exit"] == 1 else "UNEXPECTED"
    print(
        f"  exit {cli['exit']} ({expected}); {cli['findings']} findings "
        f"({cli['critical']} critical)"
    )


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _baselines(n: int, folder: Path, workdir: Path, timeout_s: float) -> None:
    print(f"\n== baselines over the demo of {n:,} transactions (load average {_load()})")
    try:
        _print_baselines(_run_child("baselines", folder, workdir / f"out-base-{n}", timeout_s))
    except ChildError as exc:
        _print_baselines(exc.records)
        print(f"FAILED baselines: {exc}")


def _spark(n: int, folder: Path, workdir: Path, timeout_s: float, spark: SparkOptions) -> None:
    """The ``spark`` child (close_spark.py) and its table, each stage beside its frames twin."""
    print(
        f"\n== Spark ({spark.master}, driver {spark.driver_memory}) over the demo of {n:,} "
        f"transactions (load average before: {_load()})"
    )
    extra = ["--spark-master", spark.master, "--spark-driver-memory", spark.driver_memory]
    extra += [] if spark.twins else ["--no-twins"]
    try:
        records = _run_child("spark", folder, workdir / f"out-spark-{n}", timeout_s, tuple(extra))
    except ChildError as exc:
        print_spark(exc.records)
        print(f"FAILED spark: {exc}")
        return
    print_spark(records)
    whole = next((r["child_seconds"] for r in records if "child_seconds" in r), 0.0)
    print(f"  whole child process {whole:.1f} s; load average after: {_load()}")


@dataclass(frozen=True)
class StageRuns:
    """How the stages child runs: spill modes in order, and an optional memory limit.

    Attributes:
        spill: ``on`` (a close's default: the ledger and large results in mapped files,
            under WORKDIR/spill), ``off`` (all in the heap), or both, in the order given.
        memory_limit: bytes; each stages child then runs in its own memory cgroup of that
            size (``memory_cgroup``) and the report says whether it completed within it.
        baselines: run the baselines child first.
    """

    spill: tuple[str, ...] = ("on",)
    memory_limit: int | None = None
    baselines: bool = True


def _stages(
    n: int, folder: Path, workdir: Path, timeout_s: float, *, mode: str, limit: int | None
) -> tuple[list[dict[str, Any]], list[str], str]:
    """One stages child in spill ``mode`` (in a cgroup of ``limit``): records, failures, verdict."""
    env = {SPILL_ENV: str(workdir / "spill") if mode == "on" else "off"}
    cgroup = None
    verdict = ""
    if limit is not None:
        try:
            cgroup = MemoryCgroup(f"ledger-audit-bench-{os.getpid()}-{mode}", limit)
        except OSError as exc:
            verdict = f"memory limit not applied: {exc}"
    failures: list[str] = []
    try:
        records = _run_child(
            "stages", folder, workdir / f"out-stages-{n}", timeout_s, env=env, cgroup=cgroup
        )
    except ChildError as exc:
        records, failures = exc.records, [f"stages (spill {mode}): {exc}"]
    if cgroup is not None and limit is not None:
        within = "no: killed for want of memory" if cgroup.oom_kills() else "yes"
        if failures and not cgroup.oom_kills():
            within = "no: the child failed"
        verdict = (
            f"completed within {limit / 2**30:.2f} GiB: {within} (the cgroup's peak charge, "
            f"page cache included: {cgroup.peak_mib():,.0f} MiB)"
        )
        cgroup.remove()
    return records, failures, verdict


def _print_bundle_sizes(direct_out: Path, cli_out: Path) -> None:
    heads = ("report.html", "workpaper", "tables/", "erp/", "notebook", "total")
    print(f"{'bundle MiB':<20}" + "".join(f"{h:>12}" for h in heads))
    for label, out in (("direct", direct_out), ("cli", cli_out)):
        if out.is_dir():
            sizes = [_size(out / part) / MIB for part in BUNDLE_PARTS] + [_size(out) / MIB]
            print(f"{label:<20}" + "".join(f"{size:>12.2f}" for size in sizes))


def _print_stage_runs(
    stage_runs: list[tuple[str, list[dict[str, Any]], str]],
) -> tuple[dict[str, Any], float]:
    """Each stages run: its title, table, bundle and totals; the last run's totals and time."""
    direct: dict[str, Any] = {}
    child_s = 0.0
    for mode, stages, verdict in stage_runs:
        print(f"-- stages with spill {mode}" + (f"; {verdict}" if verdict else ""))
        direct = _print_stages(stages)
        bundle = next((r for r in stages if "bundle_rss_peak_mib" in r), None)
        if bundle:
            before, peak = bundle["bundle_rss_before_mib"], bundle["bundle_rss_peak_mib"]
            print(
                f"  bundle: RSS {before:,.0f} MiB before it, peak {peak:,.0f} MiB while it was "
                f"written (sampled every 20 ms): +{peak - before:,.0f} MiB"
            )
        child_s = float(next((r["child_seconds"] for r in stages if "child_seconds" in r), 0.0))
        if direct:
            print(_row("total (direct)", direct["total"], None, direct["peak_mib"]))
            print(
                f"  {direct['entries']:,} entries loaded; {direct['findings']:,} findings "
                f"({direct['critical']} critical); whole child process {child_s:.1f} s; "
                f"{direct.get('spilled_mib', 0.0):,.0f} MiB of frames in mapped files at the end"
            )
            children = ", ".join(
                f"{name} {mib:,.0f}" for name, mib in sorted(direct.get("children_mib", {}).items())
            )
            print(
                f"  its child processes' own peaks (MiB, VmHWM): {children or 'none seen'}; "
                f"with them, peak RSS {direct.get('together_peak_mib', 0.0):,.0f} MiB "
                "(sampled every 0.2 s)"
            )
    return direct, child_s


def bench(n: int, workdir: Path, timeout_s: float, runs: StageRuns, *, with_cli: bool) -> None:
    """One size: demo, the baselines, the stages child per spill mode, the cli, the tables."""
    folder, built = demo_dir(workdir, n)
    if runs.baselines:
        _baselines(n, folder, workdir, timeout_s)
    meta = json.loads((folder / "demo.json").read_text(encoding="utf-8"))
    direct_out, cli_out = workdir / f"out-stages-{n}", workdir / f"out-cli-{n}"
    failures: list[str] = []
    loads = [f"load average before the stages: {_load()}"]
    stage_runs: list[tuple[str, list[dict[str, Any]], str]] = []
    for mode in runs.spill:
        records, failed, verdict = _stages(
            n, folder, workdir, timeout_s, mode=mode, limit=runs.memory_limit
        )
        stage_runs.append((mode, records, verdict))
        failures += failed
        loads.append(f"after spill {mode}: {_load()}")
    cli_records: list[dict[str, Any]] = []
    if with_cli:
        try:
            cli_records = _run_child("cli", folder, cli_out, timeout_s)
        except ChildError as exc:
            cli_records, failures = exc.records, [*failures, f"cli: {exc}"]
        loads.append(f"after the cli: {_load()}")

    how = f"built in {built:.0f} s" if built is not None else "reused"
    versions = meta.get("counts", {}).get("versions", 0)
    print(f"\n== demo of {n:,} transactions ({how}; {versions:,} versions): {folder}")
    print("; ".join(loads))
    direct, child_s = _print_stage_runs(stage_runs)
    cli = next((r for r in cli_records if "exit" in r), {})
    if with_cli:
        _print_cli(cli)
        if cli["exit"] != 1:
            failures.append(f"cli: exit {cli['exit']}: {cli['stderr']}")
    if direct and cli and cli["exit"] in (0, 1):
        print(
            f"headless notebook vs direct stages: {cli['seconds'] - direct['total']:+.1f} s "
            f"({cli['seconds'] / direct['total']:.2f}x); vs the whole direct process "
            f"{cli['seconds'] - child_s:+.1f} s ({cli['seconds'] / child_s:.2f}x); "
            f"peak RSS {cli['rusage_children_mib'] / direct['peak_mib']:.2f}x"
        )
    _print_bundle_sizes(direct_out, cli_out / PERIOD)
    for failure in failures:
        print(f"FAILED {failure}")


def main() -> None:
    """Parse arguments; run each size (or act as a child)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transactions", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ledger-audit-bench-close"))  # noqa: S108
    parser.add_argument("--timeout", type=float, default=30.0, help="minutes per child")
    parser.add_argument(
        "--no-cli", action="store_true", help="run the stages child only, not `ledger-audit close`"
    )
    parser.add_argument(
        "--baselines-only", action="store_true", help="run the baselines child only"
    )
    parser.add_argument(
        "--spark", action="store_true", help="also run the spark child (close_spark.py)"
    )
    parser.add_argument("--spark-only", action="store_true", help="run the spark child only")
    parser.add_argument("--spark-master", default="local[*]", help="Spark master (local[*])")
    parser.add_argument("--spark-driver-memory", default="4g", help="driver JVM heap (4g)")
    parser.add_argument(
        "--no-twins", action="store_true", help="spark child: skip the frames twin of each stage"
    )
    parser.add_argument(
        "--child", choices=("stages", "cli", "baselines", "spark"), help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--spill",
        choices=("on", "off", "both"),
        default="on",
        help="the stages child with the ledger and large results in mapped files (on, as a "
        "close does by default), all in the heap (off), or both: off first",
    )
    parser.add_argument(
        "--memory-limit",
        type=parse_size,
        help="run each stages child in a memory cgroup of this size (3G, 2.5G): does it finish?",
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip the baselines child")
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "stages":
        child_stages(args.folder, args.out)
        return
    if args.child == "cli":
        child_cli(args.folder, args.out)
        return
    if args.child == "baselines":
        child_baselines(args.folder, args.out)
        return
    if args.child == "spark":
        child_spark(
            args.folder,
            args.out,
            period=PERIOD,
            statements=_statements(args.folder),
            master=args.spark_master,
            driver_memory=args.spark_driver_memory,
            twins=not args.no_twins,
        )
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    spark = SparkOptions(args.spark_master, args.spark_driver_memory, twins=not args.no_twins)
    for n in args.transactions:
        if args.spark_only:
            _spark(n, demo_dir(args.workdir, n)[0], args.workdir, args.timeout * 60, spark)
            continue
        if args.baselines_only:
            _baselines(n, demo_dir(args.workdir, n)[0], args.workdir, args.timeout * 60)
        else:
            runs = StageRuns(
                spill=("off", "on") if args.spill == "both" else (args.spill,),
                memory_limit=args.memory_limit,
                baselines=not args.no_baselines,
            )
            bench(n, args.workdir, args.timeout * 60, runs, with_cli=not args.no_cli)
        if args.spark:
            _spark(n, demo_dir(args.workdir, n)[0], args.workdir, args.timeout * 60, spark)


if __name__ == "__main__":
    main()
