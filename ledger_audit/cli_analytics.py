"""The ``sample`` and ``benford`` commands (argument parsing and handlers).

Kept apart from ``cli.py`` so that its edits stay small. Nothing heavy is imported at
module level: the handlers import the analytics when they run, so ``--help`` stays fast.
Numbers are read exactly (``Fraction`` from their decimal text; amounts as decimals).
"""

from __future__ import annotations

import argparse
import json
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from ledger_audit.errors import InputError

_DECIMAL_HELP = "a decimal such as 0.95 or a percent such as 95%"
_RATE_HELP = _DECIMAL_HELP.replace("%", "%%")  # argparse formats help with %


def exact_rate(text: str) -> Fraction:
    """A rate typed as ``0.05`` or ``5%``, exactly (argparse type)."""
    body = text.strip()
    try:
        value = Fraction(body[:-1]) / 100 if body.endswith("%") else Fraction(body)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not {_DECIMAL_HELP}") from None
    return value


def exact_amount(text: str) -> Fraction:
    """An amount typed as a plain decimal (``1000000.00``), exactly (argparse type)."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a decimal amount") from None
    return value


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _print_json(payload: dict[str, Any]) -> None:
    _say(json.dumps(payload, sort_keys=True))


def _text(value: Fraction) -> str:
    """A Fraction as a short exact text: a decimal when finite, else numerator/denominator."""
    den = value.denominator
    twos = fives = 0
    while den % 2 == 0:
        den //= 2
        twos += 1
    while den % 5 == 0:
        den //= 5
        fives += 1
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)
    scaled = value * 10**places
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled.numerator)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def add_sample_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """``sample attribute`` (plan or evaluate) and ``sample mus`` (plan)."""
    sample = commands.add_parser(
        "sample",
        help="audit sampling: attribute (tests of controls) and monetary-unit sampling",
        description=(
            "Plan or evaluate a statistical sample as the AICPA Audit Sampling guide does "
            "(Tables A-1 to A-4, C-1), in exact arithmetic. Every answer names its method."
        ),
    )
    kinds = sample.add_subparsers(dest="kind", required=True, metavar="KIND")
    attribute = kinds.add_parser(
        "attribute",
        help="plan n (--tolerable-rate, --expected-rate) or evaluate (--n, --deviations)",
        description=(
            "Plan: the smallest n whose one-sided Clopper-Pearson upper bound, with "
            "ceil(n x expected rate) deviations, is below the tolerable rate. Evaluate: the "
            "upper deviation rate for K deviations in N items (--table rounds it up to "
            "0.1 % as Tables A-3/A-4 print it)."
        ),
    )
    attribute.add_argument("--confidence", type=exact_rate, required=True, help=_RATE_HELP)
    attribute.add_argument("--tolerable-rate", type=exact_rate, default=None)
    attribute.add_argument("--expected-rate", type=exact_rate, default=Fraction(0))
    attribute.add_argument("--n", type=int, default=None, help="sample size (evaluate)")
    attribute.add_argument("--deviations", type=int, default=None, help="deviations (evaluate)")
    attribute.add_argument("--table", action="store_true", help="round as the tables print")
    attribute.add_argument("--json", action="store_true", help="print one JSON object")
    attribute.set_defaults(handler=run_sample_attribute)
    mus = kinds.add_parser(
        "mus",
        help="plan a monetary-unit sample (Poisson/gamma, Table C-1)",
        description=(
            "The smallest n with Gamma^-1(confidence; 1 + n*E/B, rate n) < T/B for book "
            "value B, tolerable misstatement T and expected misstatement E (amounts as "
            "decimals). --table uses the zero-error factor rounded up to 0.01 (E must be 0)."
        ),
    )
    mus.add_argument("--confidence", type=exact_rate, required=True, help=_RATE_HELP)
    mus.add_argument("--book-value", type=exact_amount, required=True)
    mus.add_argument("--tolerable", type=exact_amount, required=True)
    mus.add_argument("--expected", type=exact_amount, default=Fraction(0))
    mus.add_argument("--table", action="store_true", help="table factor mode")
    mus.add_argument("--json", action="store_true", help="print one JSON object")
    mus.set_defaults(handler=run_sample_mus)
    select = kinds.add_parser(
        "select",
        help="select a monetary-unit sample from a CSV population with a recorded seed",
        description=(
            "Read the items (ID column) and their book values (VALUE column, exact decimals) "
            "from FILE, select N monetary units with numpy's PCG64 seeded by --seed, and "
            "write DIR/mus_selection.{csv,parquet} (the selected items with empty "
            "audited_value, tester_result and tester_note columns for the tester) and "
            "DIR/mus_selection.json (generator, seed, population SHA-256, interval, start, "
            "selected ids). Items with a book value <= 0 cannot be hit and are counted."
        ),
    )
    select.add_argument("--csv", type=Path, required=True, metavar="FILE")
    select.add_argument("--id-column", required=True, metavar="ID")
    select.add_argument("--value-column", required=True, metavar="VALUE")
    select.add_argument("--n", type=int, required=True, help="monetary units to select")
    select.add_argument("--seed", type=int, required=True, help="recorded with the selection")
    select.add_argument(
        "--method", choices=("fixed-interval", "cell", "random"), default="fixed-interval"
    )
    select.add_argument("--out", type=Path, required=True, metavar="DIR")
    select.add_argument("--json", action="store_true", help="print the record as one JSON object")
    select.set_defaults(handler=run_sample_select)


def run_sample_attribute(args: argparse.Namespace) -> int:
    """Plan when --tolerable-rate is given, evaluate when --n and --deviations are."""
    from ledger_audit.analytics.sampling.attribute import (  # noqa: PLC0415 - keep --help fast
        FactorMode,
        evaluate_attribute,
        plan_attribute,
    )

    planning = args.tolerable_rate is not None
    evaluating = args.n is not None or args.deviations is not None
    if planning == evaluating:
        raise InputError(
            "sample attribute", "give --tolerable-rate (plan) or --n and --deviations (evaluate)"
        )
    if planning:
        plan = plan_attribute(args.confidence, args.tolerable_rate, args.expected_rate)
        payload: dict[str, Any] = {
            "n": plan.n,
            "expected_deviations": plan.expected_deviations,
            "confidence": _text(plan.confidence),
            "tolerable_rate": _text(plan.tolerable_rate),
            "expected_rate": _text(plan.expected_rate),
            "method": plan.method,
        }
        line = f"n = {plan.n} (expected deviations {plan.expected_deviations}; {plan.method})"
        if plan.n is None:
            line = "no sample size up to 20,000 meets the tolerable rate"
    else:
        if args.n is None or args.deviations is None:
            raise InputError("sample attribute", "evaluation needs both --n and --deviations")
        mode: FactorMode = "table" if args.table else "exact"
        result = evaluate_attribute(args.confidence, args.n, args.deviations, mode)
        payload = {
            "upper_rate": float(result.upper_rate),
            "upper_rate_exact": _text(result.upper_rate),
            "n": result.n,
            "deviations": result.deviations,
            "confidence": _text(result.confidence),
            "factor_mode": result.factor_mode,
            "method": result.method,
        }
        line = f"upper deviation rate {float(result.upper_rate):.4%} ({result.method}, {mode})"
    if args.json:
        _print_json(payload)
    else:
        _say(line)
    return 0


def _minor(value: Fraction, scale: int, name: str) -> int:
    factor: int = 10**scale
    scaled = value * factor
    if scaled.denominator != 1:
        raise InputError(f"--{name}", f"{_text(value)} has more than {scale} decimals")
    return scaled.numerator


def _scale_of(*values: Fraction) -> int:
    scale = 0
    for value in values:
        while (value * 10**scale).denominator != 1:
            scale += 1
            if scale > 18:  # noqa: PLR2004 - the widest scale an amount is read at
                raise InputError("sample mus", f"{_text(value)} is not a finite decimal")
    return scale


def run_sample_mus(args: argparse.Namespace) -> int:
    """Plan a MUS sample; amounts are exact decimals brought to one common scale."""
    from ledger_audit.analytics.sampling.mus import plan_mus  # noqa: PLC0415 - keep --help fast

    scale = _scale_of(args.book_value, args.tolerable, args.expected)
    plan = plan_mus(
        args.confidence,
        _minor(args.book_value, scale, "book-value"),
        _minor(args.tolerable, scale, "tolerable"),
        _minor(args.expected, scale, "expected"),
        "table" if args.table else "exact",
    )
    interval = None if plan.interval is None else plan.interval / 10**scale
    payload = {
        "n": plan.n,
        "interval": None if interval is None else float(interval),
        "interval_exact": None if interval is None else _text(interval),
        "expected_taintings": None
        if plan.expected_taintings is None
        else float(plan.expected_taintings),
        "confidence": _text(plan.confidence),
        "margin": plan.margin,
        "factor_mode": plan.factor_mode,
        "method": plan.method,
    }
    if args.json:
        _print_json(payload)
    else:
        _say(f"n = {plan.n}, interval {payload['interval']} ({plan.method}, {plan.factor_mode})")
    return 0


def run_sample_select(args: argparse.Namespace) -> int:
    """Select, then write the workpaper frame and the selection's record."""
    import polars as pl  # noqa: PLC0415 - keep --help fast

    from ledger_audit.analytics.sampling.selection import (  # noqa: PLC0415
        select_mus,
        workpaper_frame,
    )
    from ledger_audit.exports.atomic import write_text_atomic  # noqa: PLC0415
    from ledger_audit.exports.findings import write_frame  # noqa: PLC0415
    from ledger_audit.sources.decimal_csv import read_decimal_column  # noqa: PLC0415

    if not args.csv.is_file():
        raise InputError(str(args.csv), "no such file")
    values = read_decimal_column(args.csv, args.value_column)
    if values.blank:
        raise InputError(str(args.csv), f"{values.blank} items have no {args.value_column}")
    ids = pl.read_csv(args.csv, infer_schema=False)
    if args.id_column not in ids.columns:
        raise InputError(str(args.csv), f"no column named {args.id_column!r}")
    population = pl.DataFrame(
        {"item_id": ids.get_column(args.id_column), "book_value": values.amounts}
    )
    method = args.method.replace("-", "_")
    selection = select_mus(population, args.n, args.seed, method)
    record = {**selection.record(), "scale": values.scale, "source": str(args.csv)}
    write_frame(workpaper_frame(selection), args.out, "mus_selection")
    write_text_atomic(
        args.out / "mus_selection.json", json.dumps(record, indent=2, sort_keys=True) + "\n"
    )
    if args.json:
        _print_json(record)
    else:
        _say(
            f"{selection.items.height} items selected (seed {args.seed}, interval "
            f"{selection.interval}); {args.out / 'mus_selection.csv'}"
        )
    return 0


_TESTS = ("first", "second", "first-two", "first-three", "last-two", "summation", "second-order")


def add_benford_parser(commands: argparse._SubParsersAction[Any]) -> None:
    """``benford --csv FILE --column NAME --test T``."""
    benford = commands.add_parser(
        "benford",
        help="Benford's law digit tests on a CSV column of amounts (read exactly)",
        description=(
            "Read NAME from FILE as exact decimals (integer minor units at the column's "
            "largest number of decimals; never floats) and run one Benford test: MAD and "
            "Nigrini's conformity band, chi-square, Z per digit and the suspect digits. "
            "Fewer than --min-n amounts, or a span under two orders of magnitude, gives "
            '"not applicable" instead of a band.'
        ),
    )
    benford.add_argument("--csv", type=Path, required=True, metavar="FILE")
    benford.add_argument("--column", required=True, metavar="NAME")
    benford.add_argument("--test", choices=_TESTS, default="first")
    benford.add_argument(
        "--convention",
        choices=("nigrini", "benford-analysis"),
        default="nigrini",
        help="nigrini: amounts >= 10 only; benford-analysis: every non-zero amount",
    )
    benford.add_argument("--sign", choices=("positive", "negative", "both"), default="positive")
    benford.add_argument("--min-n", type=int, default=300, help="fewest amounts for a verdict")
    benford.add_argument("--json", action="store_true", help="print one JSON object")
    benford.set_defaults(handler=run_benford)


def run_benford(args: argparse.Namespace) -> int:
    """Run one test on one CSV column; the JSON carries n, mad, chi2 and conformity."""
    import polars as pl  # noqa: PLC0415 - keep --help fast

    from ledger_audit.analytics.benford.suite import (  # noqa: PLC0415
        BenfordParams,
        benford_test,
    )
    from ledger_audit.sources.decimal_csv import read_decimal_column  # noqa: PLC0415

    if not args.csv.is_file():
        raise InputError(str(args.csv), "no such file")
    column = read_decimal_column(args.csv, args.column)
    asset = f"{args.column}/{column.scale}"
    frame = pl.DataFrame({"asset_id": asset, "amount": column.amounts})
    frame = frame.with_columns(pl.lit(asset).alias("asset_id"))
    params = BenfordParams(
        convention="nigrini" if args.convention == "nigrini" else "benford_analysis",
        sign=args.sign,
        min_n=args.min_n,
    )
    test = args.test.replace("-", "_")
    result = benford_test(frame, test, params)
    row = result.summary.row(0, named=True)
    conformity = row["conformity"] if row["applicable"] else "not applicable"
    payload = {
        "n": row["n"],
        "mad": row["mad"],
        "chi2": row["chi2"],
        "df": row["df"],
        "conformity": conformity,
        "applicable": row["applicable"],
        "reason": row["reason"],
        "rows": column.rows,
        "blank": column.blank,
        "excluded": column.rows - column.blank - row["n"],
        "scale": column.scale,
        "test": args.test,
        "convention": args.convention,
        "sign": args.sign,
        "suspects": result.suspects()["digit"].to_list(),
        "method": result.method,
    }
    if args.json:
        _print_json(payload)
    else:
        _say(
            f"{args.test} digits of {args.column} in {args.csv}: N={row['n']}, "
            f"MAD={row['mad']:.6f}, chi-square={row['chi2']}, {conformity}"
        )
        if row["reason"]:
            _say(row["reason"])
    sys.stdout.flush()
    return 0
