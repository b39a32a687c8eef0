"""Benchmark: how long ``ledger-audit`` takes to answer when it has nothing heavy to do.

Times, in fresh processes and in the same run (the runs of the commands interleaved, so a
busy machine slows them alike), the wall time of:

- ``ledger-audit --help``;
- a one-line error: ``ledger-audit verify`` of a ledger file that does not exist;
- a usage error: ``ledger-audit demo --month 2025-13``;
- the floor, ``python -c pass``, and what one heavy import costs, ``python -c "import polars"``.

Prints the median, fastest and slowest of ``--runs`` runs of each (target: the CLI's
answers under 1 s). Which modules those answers import is held by
``tests/test_cli_startup.py``; this script only measures.

Usage::

    python benchmarks/bench_startup.py            # 7 runs of each
    python benchmarks/bench_startup.py --runs 15
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 1.0


def cli_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("ledger-audit")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "ledger_audit.cli"]


def commands(work: Path) -> dict[str, tuple[list[str], int]]:
    """Name -> (argv, expected exit code)."""
    cli = cli_command()
    missing = work / "no-such-ledger.sqlite"
    return {
        "ledger-audit --help": ([*cli, "--help"], 0),
        "ledger-audit verify <missing file>": ([*cli, "verify", str(missing), "--out", "x"], 2),
        "ledger-audit demo --month 2025-13": ([*cli, "demo", "--month", "2025-13"], 2),
        "python -c pass": ([sys.executable, "-c", "pass"], 0),
        'python -c "import polars"': ([sys.executable, "-c", "import polars"], 0),
    }


def time_once(argv: list[str], expected: int, cwd: Path) -> float:
    """Wall seconds of one run; a wrong exit code stops the benchmark."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=cwd)
    seconds = time.perf_counter() - started
    if done.returncode != expected:
        sys.exit(f"{' '.join(argv)}: exit {done.returncode}, expected {expected}: {done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        todo = commands(work)
        for argv, expected in todo.values():  # warm the file cache: not measured
            time_once(argv, expected, work)
        times: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(args.runs):
            for name, (argv, expected) in todo.items():
                times[name].append(time_once(argv, expected, work))
    width = max(map(len, times))
    print(f"{'command':<{width}}  median s     min s     max s  ({args.runs} runs each)")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        flag = ""
        if name.startswith("ledger-audit"):
            flag = "  under 1 s" if median < TARGET_SECONDS else "  OVER 1 s"
        print(f"{name:<{width}}  {median:8.3f}  {min(seconds):8.3f}  {max(seconds):8.3f}{flag}")


if __name__ == "__main__":
    main()
