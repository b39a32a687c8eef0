"""Benchmark: the full month-end close on demo ledgers, per stage, with peak memory.

For each size N (demo transactions, default 100,000 and 1,000,000), builds the demo once
(``ledger-audit demo --transactions N --seed 7``, reused when ``demo.json`` in the work
folder says it is that demo; its build time is reported apart), then measures, each in a
fresh child process so that its peak RSS is its own:

- ``stages``: ``run_close`` over January with both bank statements and the demo GL mapping,
  then ``write_bundle``: wall seconds of each stage (load, audit, statements, reconcile,
  drift, trial balance, journals, bundle) and the child's peak RSS after each stage;
- ``cli``: the real command, ``ledger-audit close`` (papermill runs the close notebook in a
  kernel, which writes the same bundle plus the executed notebook): wall seconds, and the
  peak RSS of the largest process in its tree. ``RUSAGE_CHILDREN`` covers every descendant
  that was waited for: the CLI waits for its kernel, so the kernel (where the work happens)
  is included.

The comparison printed in the same run is the headless notebook against the same stages
called directly: what papermill, the kernel and the notebook's displayed sections cost.

Usage::

    python benchmarks/bench_close.py                       # 100,000 and 1,000,000
    python benchmarks/bench_close.py --transactions 20000 --workdir /tmp/close-bench

Demos and bundles go to ``--workdir`` (default ``data/bench-close/``, git-ignored).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "ledger-audit"
MAPPING = ROOT / "mappings" / "demo.toml"
SEED = 7


def _peak_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def demo_dir(workdir: Path, n: int) -> tuple[Path, float | None]:
    """The demo of N transactions in ``workdir`` (built unless there), and its build time."""
    folder = workdir / f"demo-{n}"
    meta = folder / "demo.json"
    if meta.is_file():
        built = json.loads(meta.read_text(encoding="utf-8"))
        params = built.get("parameters", built)
        if params.get("transactions") == n and params.get("seed") == SEED:
            return folder, None
    started = time.perf_counter()
    subprocess.run(
        [str(CLI), "demo", "--transactions", str(n), "--seed", str(SEED), "--out", str(folder)],
        check=True,
        capture_output=True,
    )
    return folder, time.perf_counter() - started


def _statements(folder: Path) -> list[str]:
    return [str(folder / "statements" / f) for f in ("operating-usd.bai2", "operating-eur.xml")]


def child_stages(folder: Path, out: Path) -> dict[str, object]:
    from ledger_audit.close.bundle import write_bundle  # noqa: PLC0415 - in the child only
    from ledger_audit.close.run import CloseParameters, run_close  # noqa: PLC0415

    rows: list[tuple[str, float, float]] = []

    def on_stage(name: str, seconds: float) -> None:
        rows.append((name, seconds, _peak_mib()))

    started = time.perf_counter()
    close = run_close(
        CloseParameters(
            source=str(folder / "ledger.sqlite"),
            period="2025-01",
            statements=tuple(_statements(folder)),
            mapping=str(MAPPING),
        ),
        on_stage=on_stage,
    )
    clock = time.perf_counter()
    write_bundle(close, out, run_time_ns=time.time_ns())
    rows.append(("bundle", time.perf_counter() - clock, _peak_mib()))
    return {
        "stages": rows,
        "total": time.perf_counter() - started,
        "peak_mib": _peak_mib(),
        "findings": close.findings.height,
        "entries": close.frames.entries.height,
        "versions": close.frames.transactions.height,
    }


def child_cli(folder: Path, out: Path) -> dict[str, object]:
    started = time.perf_counter()
    argv = [str(CLI), "close", "--period", "2025-01", "--ledger", str(folder / "ledger.sqlite")]
    argv += ["--statements", *_statements(folder), "--mapping", str(MAPPING), "--out", str(out)]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: the demo's planted critical findings
        raise SystemExit(f"ledger-audit close failed ({done.returncode}): {done.stderr}")
    bundle = out / "2025-01"
    sizes = {
        name: sum(p.stat().st_size for p in (bundle / name).rglob("*") if p.is_file())
        if (bundle / name).is_dir()
        else (bundle / name).stat().st_size
        for name in ("report.html", "workpaper.xlsx", "month_end_close.ipynb", "tables", "erp")
    }
    return {
        "seconds": seconds,
        "peak_mib": _peak_mib(resource.RUSAGE_CHILDREN),
        "exit": done.returncode,
        "sizes": sizes,
    }


def _child(kind: str, folder: Path, out: Path) -> dict[str, object]:
    shutil.rmtree(out, ignore_errors=True)
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--folder", str(folder), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def bench(n: int, workdir: Path) -> None:
    folder, built = demo_dir(workdir, n)
    direct = _child("stages", folder, workdir / f"out-stages-{n}")
    cli = _child("cli", folder, workdir / f"out-cli-{n}")
    print(f"\n== demo of {n:,} transactions", end="")
    print(f" (built in {built:.0f} s)" if built is not None else " (built earlier)", end="")
    print(f": {direct['versions']:,} transaction versions, {direct['entries']:,} entries")
    print(f"{'stage':<16}{'seconds':>10}{'peak RSS MiB':>15}")
    for name, seconds, peak in direct["stages"]:  # type: ignore[attr-defined]
        print(f"{name:<16}{seconds:>10.2f}{peak:>15,.0f}")
    total, cli_seconds = float(direct["total"]), float(cli["seconds"])  # type: ignore[arg-type]
    print(f"{'total (direct)':<16}{total:>10.2f}{float(direct['peak_mib']):>15,.0f}")  # type: ignore[arg-type]
    print(f"{'ledger-audit close':<16}{cli_seconds:>8.2f}{float(cli['peak_mib']):>15,.0f}")  # type: ignore[arg-type]
    print(
        f"headless notebook vs direct calls: +{cli_seconds - total:.1f} s "
        f"({cli_seconds / total:.2f}x); {direct['findings']} findings; exit {cli['exit']}"
    )
    sizes: dict[str, int] = cli["sizes"]  # type: ignore[assignment]
    print("bundle: " + ", ".join(f"{k} {v / 2**20:,.1f} MiB" for k, v in sizes.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--transactions", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workdir", type=Path, default=ROOT / "data" / "bench-close")
    parser.add_argument("--child", choices=("stages", "cli"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = child_stages if args.child == "stages" else child_cli
        print(json.dumps(run(args.folder, args.out)))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    for n in args.transactions:
        bench(n, args.workdir)


if __name__ == "__main__":
    main()
