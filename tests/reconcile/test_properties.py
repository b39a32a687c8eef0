"""Input order changes nothing, and a synthetic month with known truth has no false auto match."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.reconcile.internal import internal_items
from ledger_audit.reconcile.match import Reconciliation, reconcile
from ledger_audit.sources.match_rules import SubsetSumCaps, Tolerance
from tests.reconcile.helpers import HEADER, RULES, day, ledger_items, records, tx
from tests.text_ledger import ledger_from_text, replace_rows

AMOUNTS = st.sampled_from([100, 250, 350, 700, 1000, -100, -350])
REFS = st.sampled_from([None, "E1", "E2", "ach-00001234", "PO9"])


def _frames(result: Reconciliation) -> dict[str, pl.DataFrame]:
    return result.frames()


@settings(max_examples=25, deadline=None)
@given(
    ledger=st.lists(st.tuples(AMOUNTS, st.integers(0, 12), REFS), max_size=10),
    bank=st.lists(st.tuples(AMOUNTS, st.integers(0, 14), REFS, st.booleans()), max_size=10),
    seed=st.integers(0, 2**32 - 1),
)
def test_shuffling_both_inputs_changes_nothing(
    ledger: list[tuple[int, int, str | None]],
    bank: list[tuple[int, int, str | None, bool]],
    seed: int,
) -> None:
    rules = replace(RULES, tolerance=Tolerance(absolute=5), subset_sum=SubsetSumCaps(pool=6))
    items = ledger_items(
        *(tx(f"t{n}", a, d, ext=r) for n, (a, d, r) in enumerate(ledger)), rules=rules
    )
    lines = records(
        *(
            {"amount": a, "on": d, "end_to_end_id": r, "reversal": flag and a < 0}
            for a, d, r, flag in bank
        )
    )
    first = reconcile(items, lines, rules, as_of=day(20))
    again = reconcile(
        items.sample(fraction=1.0, shuffle=True, seed=seed),
        lines.sample(fraction=1.0, shuffle=True, seed=seed + 1),
        rules,
        as_of=day(20),
    )
    for name, frame in _frames(first).items():
        assert frame.equals(_frames(again)[name], null_equal=True), name
    # every item and record is in exactly one match or one break
    members = first.links.select("side", "item_id")
    breaks = first.breaks.select("side", "item_id")
    both = pl.concat([members, breaks])
    assert both.height == items.height + lines.height
    assert both.n_unique() == both.height


def _month(seed: int) -> tuple[str, pl.DataFrame, dict[str, frozenset[str]], dict[str, str]]:
    """A month of ledger transactions and bank lines with the true grouping of each line."""
    rng = random.Random(seed)
    ledger: list[str] = []
    lines: list[dict[str, object]] = []
    truth: dict[str, frozenset[str]] = {}
    batch: dict[str, str] = {}
    common = [1000, 2500, 5000, 10000]

    def amount() -> int:
        value = rng.choice(common) if rng.random() < 0.3 else rng.randint(100, 900_000)
        return value if rng.random() < 0.7 else -value

    number = 0
    for _ in range(160):
        number += 1
        t = f"t{number}"
        value, on = amount(), rng.randint(0, 25)
        kind = rng.random()
        ext = f"ach-{number:08d}" if rng.random() < 0.5 else None
        ledger.append(tx(t, value, on, ext=ext))
        if kind < 0.08:
            continue  # ledger only
        record = f"r{len(lines) + 1}"
        line: dict[str, object] = {"amount": value, "on": on + rng.randint(0, 3 if ext else 1)}
        if ext and rng.random() < 0.5:
            line["end_to_end_id"] = ext
        elif ext and rng.random() < 0.5:
            line["text"] = f"ACH CREDIT {number:08d}"
        lines.append(line)
        truth[record] = frozenset({t})
    for group in range(12):  # batches: keyed (metadata payout id) or not
        members = []
        total = 0
        on = rng.randint(0, 24)
        keyed = group % 2 == 0
        for _ in range(rng.randint(2, 4)):
            number += 1
            t = f"t{number}"
            value = rng.randint(1000, 50_000)
            total += value
            ledger.append(tx(t, value, on))
            members.append(t)
            if keyed:
                batch[t] = f"po_{group:04d}"
        line = {"amount": total, "on": on + 1}
        if keyed:
            line["payout_id"] = f"po_{group:04d}"
        lines.append(line)
        truth[f"r{len(lines)}"] = frozenset(members)
    lines.extend({"amount": amount(), "on": rng.randint(0, 25)} for _ in range(8))  # bank only
    return HEADER + "\n".join(ledger), records(*lines), truth, batch


def test_synthetic_month_every_automatic_match_is_true() -> None:
    for seed in (1, 2, 3):
        text, lines, truth, batch = _month(seed)
        frames = ledger_from_text(text)
        metadata = pl.col("transaction_id").replace_strict(
            {t: json.dumps({"payout_id": key}) for t, key in batch.items()},
            default=None,
            return_dtype=pl.String(),
        )
        frames = replace_rows(
            frames, "transactions", frames.transactions.with_columns(metadata.alias("metadata"))
        )
        result = reconcile(internal_items(frames, RULES), lines, RULES, as_of=day(31))
        auto = result.matches.filter(pl.col("status") == "auto")
        assert auto.height > 100
        assert set(auto["stage_name"]) >= {"key", "group", "exact", "scored"}
        links = result.links.join(auto.select("match_id"), on="match_id", how="semi")
        for (match_id,), group in links.group_by(["match_id"]):
            internal = frozenset(
                i.split(":")[1] for i in group.filter(pl.col("side") == "internal")["item_id"]
            )
            external = group.filter(pl.col("side") == "external")["item_id"].to_list()
            for record in external:
                assert truth.get(record) == internal, (seed, match_id, record, internal)
