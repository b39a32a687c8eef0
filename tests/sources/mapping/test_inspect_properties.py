"""The promise of ``init`` as a property: a conventionally named ledger maps without edits.

Hypothesis draws a ledger layout from the conventions ``init`` claims to know (relation and
column names, entry or transfer rows, a direction column with any of its word pairs or signed
amounts either way, minor or major units, six ways of writing a time, status synonyms, with or
without an accounts table) and writes the same truth in it (``conventional.TRUTH``). For every
draw, ``init`` must decide every key, and the mapping it writes must read the truth back:
the same legs, statuses and recorded times, no row rejected. A "sure" or "guessed" key that
reads the ledger wrong fails here, whatever the layout.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger_audit.exports.setup_files import write_setup_files
from ledger_audit.sources import load_ledger
from ledger_audit.sources.mapping.inspect import inspect_source
from tests.sources.mapping import conventional as conv

STATUS_SYNONYMS = {
    "posted": ("settled", "posted", "completed", "booked", "applied", "SETTLED"),
    "pending": ("pending", "held", "authorized", "inflight", "PENDING"),
    "archived": ("voided", "cancelled", "canceled", "failed", "void"),
}
DIRECTION_PAIRS = (("debit", "credit"), ("DR", "CR"), ("D", "C"), ("Dr", "Cr"))
TIME_FORMATS = ("iso_z", "iso_offset", "iso_naive", "epoch_s", "epoch_ms", "epoch_ns")


@dataclass(frozen=True)
class Layout:
    """One drawn way of writing the truth."""

    storage: str
    transfer: bool
    entries_name: str
    transactions_name: str
    accounts_name: str | None
    link: str
    account: str
    amount: str
    currency: str
    status: str
    time: str
    time_format: str
    direction: tuple[str, str] | None
    """Direction words (debit, credit), or None for signed amounts."""
    sign: str
    major: bool
    statuses: dict[str, str]
    """Truth status word -> the word this layout writes."""
    class_words: tuple[str, str, str, str]
    """How the accounts table writes asset, liability, revenue, expense."""


@st.composite
def layouts(draw: st.DrawFn) -> Layout:
    transfer = draw(st.booleans())
    statuses = {
        word: draw(st.sampled_from(STATUS_SYNONYMS[conv.STATUS[word]]))
        for word in sorted(conv.STATUS)
    }
    return Layout(
        storage=draw(st.sampled_from(("sqlite", "csv", "parquet"))),
        transfer=transfer,
        entries_name=draw(
            st.sampled_from(("transfers", "payments"))
            if transfer
            else st.sampled_from(("entries", "ledger_entries", "postings", "journal_lines"))
        ),
        transactions_name=draw(st.sampled_from(("transactions", "journal", "txns"))),
        accounts_name=draw(st.sampled_from((None, "accounts", "ledger_accounts"))),
        link=draw(st.sampled_from(("transaction_id", "tx_id", "txn_id"))),
        account=draw(st.sampled_from(("account_id", "account", "account_code"))),
        amount=draw(st.sampled_from(("amount", "amt", "value"))),
        currency=draw(st.sampled_from(("currency", "ccy", "currency_code"))),
        status=draw(st.sampled_from(("status", "state"))),
        time=draw(st.sampled_from(("created_at", "recorded_at", "inserted_at", "timestamp"))),
        time_format=draw(st.sampled_from(TIME_FORMATS)),
        direction=None if transfer else draw(st.sampled_from((None, *DIRECTION_PAIRS))),
        sign=draw(st.sampled_from(("debit_positive", "credit_positive"))),
        major=draw(st.booleans()),
        statuses=statuses,
        class_words=draw(
            st.sampled_from(
                (
                    ("asset", "liability", "revenue", "expense"),
                    ("Assets", "Liabilities", "Income", "Expenses"),
                    ("ASSET", "LIABILITY", "REVENUE", "EXPENSE"),
                )
            )
        ),
    )


def _seconds(iso: str) -> int:
    return int(datetime.fromisoformat(iso).astimezone(UTC).timestamp())


def _time_value(iso: str, fmt: str) -> str | int:
    seconds = _seconds(iso)
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    texts = {
        "iso_z": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "iso_offset": moment.astimezone(timezone(timedelta(hours=1))).isoformat(),
        "iso_naive": moment.strftime("%Y-%m-%d %H:%M:%S"),
    }
    epochs = {"epoch_s": 1, "epoch_ms": 10**3, "epoch_ns": 10**9}
    return texts[fmt] if fmt in texts else seconds * epochs[fmt]


def _amount(minor: int, layout: Layout) -> str | int:
    if not layout.major:
        return minor
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


def _signed(direction: str, amount: int, sign: str) -> int:
    positive = "debit" if sign == "debit_positive" else "credit"
    return amount if direction == positive else -amount


def build(layout: Layout) -> dict[str, pl.DataFrame]:
    """The truth written in ``layout``."""
    times = {t: _time_value(at, layout.time_format) for t, _, at, _ in conv.TRUTH}
    if layout.transfer:
        rows = []
        for number, (t, status, _, legs) in enumerate(conv.TRUTH, start=1):
            debit = next(leg for leg in legs if leg[1] == "debit")
            credit = next(leg for leg in legs if leg[1] == "credit")
            rows.append(
                {
                    "id": t,
                    "debit_account_id": debit[0],
                    "credit_account_id": credit[0],
                    layout.amount: _amount(debit[3], layout),
                    layout.currency: debit[2],
                    layout.status: layout.statuses[status],
                    layout.time: times[t],
                    "position": number,
                }
            )
        return {layout.entries_name: pl.DataFrame(rows).drop("position")}
    entries: list[dict[str, object]] = []
    for t, _, _, legs in conv.TRUTH:
        for account, direction, currency, amount in legs:
            row: dict[str, object] = {
                "id": len(entries) + 1,
                layout.link: t,
                layout.account: account,
                layout.currency: currency,
            }
            if layout.direction is None:
                row[layout.amount] = _amount(_signed(direction, amount, layout.sign), layout)
            else:
                row[layout.amount] = _amount(amount, layout)
                row["direction"] = layout.direction[0 if direction == "debit" else 1]
            entries.append(row)
    tables = {
        layout.entries_name: pl.DataFrame(entries),
        layout.transactions_name: pl.DataFrame(
            {
                "id": [t for t, _, _, _ in conv.TRUTH],
                layout.status: [layout.statuses[s] for _, s, _, _ in conv.TRUTH],
                layout.time: [times[t] for t, _, _, _ in conv.TRUTH],
            }
        ),
    }
    if layout.accounts_name is not None:
        words = dict(
            zip(("asset", "liability", "revenue", "expense"), layout.class_words, strict=True)
        )
        accounts = conv._accounts().with_columns(pl.col("type").replace_strict(words))
        tables[layout.accounts_name] = accounts
    return tables


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(layout=layouts())
def test_a_conventionally_named_ledger_maps_without_edits(layout: Layout) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp_path = Path(folder)
        source = conv.write_ledger(tmp_path, build(layout), layout.storage)
        proposal = inspect_source(source)
        assert proposal.undecided == (), [f"{d.key}: {d.reason}" for d in proposal.undecided]
        files = write_setup_files(proposal, tmp_path / "setup")
        frames, report = load_ledger(source, mapping=files.mapping)
        assert report.rejected == 0, report.rejections.head(3)
        entries = frames.entries.select(
            "transaction_id", "account_id", "asset_id", "direction", "amount"
        ).sort(pl.all())
        assert entries.equals(conv.expected_entries())
        transactions = frames.transactions.select("transaction_id", "status", "recorded_ns")
        assert dict(transactions.select("transaction_id", "status").iter_rows()) == (
            conv.expected_statuses()
        )
        recorded = dict(transactions.select("transaction_id", "recorded_ns").iter_rows())
        assert recorded == {t: _seconds(at) * 10**9 for t, _, at, _ in conv.TRUTH}
