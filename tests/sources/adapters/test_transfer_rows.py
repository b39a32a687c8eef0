"""Transfer-per-row mappings without ``transaction_id`` (pgledger's shape) skip the leg ranking.

Each transfer is then its own transaction, so its legs are entries 0 and 1 without ranking
the rows of a transaction (the ranking was a third of pgledger's mapped load). The property
holds that shortcut to the ranked path: the same rows mapped with ``transaction_id`` naming
the id column give the same frames, the same rejections and the same counts, on any rows
(repeated ids, null or negative amounts, finer decimals than the scale, unknown accounts).
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport
from ledger_audit.sources.load import load_mapped
from ledger_audit.sources.mapping import parse_mapping

ACCOUNTS = ("a", "b", "c")


def _mapping(transaction_id: str) -> str:
    return f"""format = "ledger-audit/mapping/1"

[ledger]
id = "t"

[assets]
scales = {{ USD = 2 }}

[accounts]
from = "accounts"
id = "id"
normal_balance = {{ value = "credit" }}
currency = "currency"

[transactions]
from = "transfers"
shape = "row"
id = "id"
status = {{ value = "posted" }}
recorded_at = {{ column = "at", epoch = "s" }}

[entries]
from = "transfers"
shape = "transfer"
row_id = "id"
{transaction_id}
debit_account = "from_account"
credit_account = "to_account"
amount = {{ column = "amount", units = "major" }}
currency = "currency"
"""


def _load(folder: Path, transaction_id: str) -> tuple[LedgerFrames, LoadReport]:
    return load_mapped(str(folder), parse_mapping(_mapping(transaction_id), folder / "m.toml"))


transfer = st.fixed_dictionaries(
    {
        "id": st.sampled_from(["t1", "t2", "t3", "t10", "9", "10"]),
        "from_account": st.sampled_from([*ACCOUNTS, "zz", None]),
        "to_account": st.sampled_from([*ACCOUNTS, None]),
        "amount": st.sampled_from(["1", "2.50", "0.001", "-3", "7.1", None]),
    }
)


@settings(max_examples=60, deadline=None)
@given(st.lists(transfer, max_size=8))
def test_one_transfer_per_transaction_loads_as_the_ranked_path(
    rows: list[dict[str, object]],
) -> None:
    with TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pl.DataFrame({"id": list(ACCOUNTS), "currency": ["USD"] * len(ACCOUNTS)}).write_csv(
            folder / "accounts.csv"
        )
        schema = dict.fromkeys(("id", "from_account", "to_account", "amount"), pl.String)
        pl.DataFrame(rows, schema=schema).with_columns(
            pl.lit("USD").alias("currency"), pl.lit(1_700_000_000).alias("at")
        ).write_csv(folder / "transfers.csv")
        fast, fast_report = _load(folder, "")
        ranked, ranked_report = _load(folder, 'transaction_id = "id"')
    for table in ("transactions", "entries", "accounts", "assets"):
        assert_frame_equal(getattr(fast, table), getattr(ranked, table))
    assert_frame_equal(fast_report.rejections, ranked_report.rejections)
    assert fast_report.source_counts == ranked_report.source_counts
    good = fast.entries
    assert good.height % 2 == 0
    assert sorted(set(good.get_column("entry_index").to_list())) in ([], [0, 1])
