"""Formance postings decoded in polars give exactly PostgreSQL's rows, or are left to it.

The adapter decodes a transaction's postings text in polars only when it is in the exact
form Go writes (integer amounts, no escapes, the four keys in order); anything else sends
the bucket to PostgreSQL's ``jsonb_array_elements``. These tests hold both halves: on Go's
form the decoded rows equal Python's JSON reading and PostgreSQL's unnesting (exact
amounts of up to 38 digits), every other form is declined, and a bucket with one such row
still loads to the same frames and findings through PostgreSQL.
"""

from __future__ import annotations

import json

import polars as pl
import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.checks.runner import audit
from ledger_audit.demo.vendors.formance import write_formance
from ledger_audit.sources import LedgerFrames
from ledger_audit.sources.adapters.formance import load
from ledger_audit.sources.adapters.formance.postings import decoded_postings
from ledger_audit.spec import VerifySpec

KEY = ["ledger", "id", "k"]
COLUMNS = ["ledger", "id", "k", "source", "destination", "amount", "asset"]

address = st.text(
    st.sampled_from("abcXYZ019:_-@/é"), min_size=1, max_size=12
)  # no quote or backslash: Go writes those escaped
amount = st.integers(0, 10**38 - 1)
posting = st.fixed_dictionaries(
    {"source": address, "destination": address, "amount": amount, "asset": address}
)
arrays = st.lists(posting, max_size=4)


def go_json(postings: list[dict[str, object]]) -> str:
    """What Go's encoding/json writes for a postings slice (fields in struct order)."""
    ordered = [{k: p[k] for k in ("source", "destination", "amount", "asset")} for p in postings]
    return json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)


def _transactions(texts: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "ledger": ["main"] * len(texts),
            "id": [str(i) for i in range(len(texts))],
            "postings": texts,
        },
        schema=dict.fromkeys(("ledger", "id", "postings"), pl.String),
    )


def _expected(texts: list[str]) -> pl.DataFrame:
    rows = [
        {"ledger": "main", "id": str(i), "k": k, **{c: str(p[c]) for c in COLUMNS[3:]}}
        for i, text in enumerate(texts)
        for k, p in enumerate(json.loads(text))
    ]
    schema = dict.fromkeys(COLUMNS, pl.String) | {"k": pl.Int64}
    return pl.DataFrame(rows, schema=schema)


@settings(max_examples=150, deadline=None)
@given(st.lists(arrays, max_size=6))
def test_go_form_decodes_to_the_exact_posting_rows(batch: list[list[dict[str, object]]]) -> None:
    texts = [go_json(p) for p in batch]
    decoded = decoded_postings(_transactions(texts))
    assert decoded is not None
    assert decoded.select(COLUMNS).sort(KEY).equals(_expected(texts).sort(KEY))


NOT_GO_FORM = (
    '[{"source":"a","destination":"b","amount":1.0,"asset":"USD/2"}]',  # polars: a float
    '[{"source":"a","destination":"b","amount":1e2,"asset":"USD/2"}]',
    (  # 39 digits
        '[{"source":"a","destination":"b","amount":100000000000000000000000000000000000000,'
        '"asset":"USD/2"}]'
    ),
    '[{"source":"a","destination":"b","amount":01,"asset":"USD/2"}]',
    '[{"source":"a","destination":"b","amount":"1","asset":"USD/2"}]',
    '[{"source":"a","destination":"b","amount":1,"asset":"USD/2","asset":"EUR/2"}]',  # last wins
    '[{"destination":"b","source":"a","amount":1,"asset":"USD/2"}]',
    '[{"source": "a", "destination": "b", "amount": 1, "asset": "USD/2"}]',  # jsonb's own text
    '[{"source":"a\\u003cb","destination":"b","amount":1,"asset":"USD/2"}]',
    '[{"source":"a","destination":"b","amount":1,"asset":"USD/2"},]',
    '[{"source":"a","destination":"b","amount":1}]',
    "[null]",
    "{}",
    "null",
    "not json",
)


@pytest.mark.parametrize("text", NOT_GO_FORM)
def test_any_other_form_is_left_to_postgresql(text: str) -> None:
    good = go_json([{"source": "a", "destination": "b", "amount": 1, "asset": "USD/2"}])
    assert decoded_postings(_transactions([good, text])) is None
    assert decoded_postings(_transactions([good])) is not None


def _conninfo(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


_UNNEST = (
    "SELECT t.ledger, t.id::text AS id, (p.k - 1)::bigint AS k, p.v->>'source' AS source, "
    "p.v->>'destination' AS destination, p.v->>'amount' AS amount, p.v->>'asset' AS asset "
    "FROM tx t CROSS JOIN LATERAL jsonb_array_elements(t.postings::jsonb) "
    "WITH ORDINALITY AS p(v, k)"
)


def test_go_form_decodes_as_postgresql_unnests_it(pg_url: str) -> None:
    edge = [
        {"source": "world", "destination": "users:é", "amount": 10**38 - 1, "asset": "BTC/8"},
        {"source": "a", "destination": "b", "amount": 0, "asset": "X"},
        {"source": "", "destination": "b", "amount": 2**64 + 1, "asset": ""},
    ]
    texts = [go_json(edge), "[]", go_json(edge[1:]), go_json([edge[0]] * 3)]
    with psycopg.connect(_conninfo(pg_url)) as conn:
        conn.execute("CREATE TABLE tx (ledger varchar, id bigint, postings varchar)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO tx VALUES ('main', %s, %s)", [(i, t) for i, t in enumerate(texts)]
            )
            cur.execute(_UNNEST)
            unnested = pl.DataFrame(cur.fetchall(), schema=COLUMNS, orient="row")
    decoded = decoded_postings(_transactions(texts))
    assert decoded is not None
    assert decoded.sort(KEY).equals(unnested.cast({"k": pl.Int64}).sort(KEY))


def test_a_bucket_with_one_other_form_loads_the_same_through_postgresql(
    demo: LedgerFrames, pg_url: str
) -> None:
    write_formance(demo, pg_url)
    before = load(pg_url)
    with psycopg.connect(_conninfo(pg_url)) as conn:
        # the same postings as jsonb writes them (spaces): equal JSON, not Go's bytes
        conn.execute(
            'UPDATE "_default".transactions SET postings = postings::jsonb::text WHERE id = 7'
        )
        conn.commit()
    after = load(pg_url)
    for table in ("transactions", "entries", "accounts", "balances"):
        assert getattr(after.frames, table).equals(getattr(before.frames, table)), table
    assert after.report.source_counts == before.report.source_counts
    spec = VerifySpec()
    found = audit(after.frames, after.report, spec, native=after.native).findings
    assert (
        found.height
        == audit(before.frames, before.report, spec, native=before.native).findings.height
        == 0
    )
