"""The request hash's direct path writes exactly the text ``json.dumps`` writes.

Both writers key idempotency on ``request_hash``; its direct path (fields of their declared
types) must give the generic path's text for any value, and anything else must fall back.
"""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from ledger_audit.ledger.requests import (
    EntrySpec,
    PostPending,
    PostTransaction,
    Request,
    ReverseTransaction,
    VoidPending,
)
from ledger_audit.ledger.writer import _generic_request_json, _request_json, request_hash

text = st.text()  # any code point: quotes, backslashes, control characters, non-ASCII
amounts = st.integers(min_value=-(2**70), max_value=2**70)
odd = st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), amounts, text)
legs = st.tuples(st.builds(EntrySpec, text, text, text, amounts))
pairs = st.tuples(st.tuples(text, text))
optional_int = st.none() | amounts
optional_text = st.none() | text

declared: st.SearchStrategy[Request] = st.one_of(
    st.builds(
        PostTransaction,
        idempotency_key=text,
        entries=legs,
        pending=st.booleans(),
        kind=text,
        effective_ns=optional_int,
        external_id=optional_text,
        transaction_id=optional_text,
        description=text,
        metadata=pairs,
    ),
    st.builds(
        PostPending,
        idempotency_key=text,
        transaction_id=text,
        entries=st.none() | legs,
        effective_ns=optional_int,
        description=text,
    ),
    st.builds(
        VoidPending,
        idempotency_key=text,
        transaction_id=text,
        effective_ns=optional_int,
        description=text,
    ),
    st.builds(
        ReverseTransaction,
        idempotency_key=text,
        transaction_id=text,
        effective_ns=optional_int,
        reversal_transaction_id=optional_text,
        description=text,
    ),
)
unusual: st.SearchStrategy[Request] = st.one_of(
    st.builds(
        PostTransaction,
        idempotency_key=odd,
        entries=st.one_of(legs, st.lists(st.builds(EntrySpec, odd, odd, odd, odd)).map(tuple)),
        pending=odd,
        effective_ns=odd,
        external_id=odd,
        description=odd,
        metadata=st.one_of(pairs, st.tuples(st.tuples(odd, odd, odd))),
    ),
    st.builds(VoidPending, idempotency_key=odd, transaction_id=odd, effective_ns=odd),
    st.builds(
        ReverseTransaction,
        idempotency_key=odd,
        transaction_id=odd,
        reversal_transaction_id=odd,
        description=odd,
    ),
)


def _generic_hash(request: Request) -> str:
    return hashlib.sha256(_generic_request_json(request).encode()).hexdigest()


@given(declared)
def test_declared_types_take_the_direct_path_to_the_same_text(request: Request) -> None:
    assert _request_json(request) == _generic_request_json(request)
    assert request_hash(request) == _generic_hash(request)


@given(unusual)
def test_any_other_value_hashes_as_json_dumps_writes_it(request: Request) -> None:
    assert request_hash(request) == _generic_hash(request)
