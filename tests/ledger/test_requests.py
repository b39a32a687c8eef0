"""The derived transaction id is the version-5 UUID the standard library computes."""

from __future__ import annotations

import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.ledger.requests import _TX_NAMESPACE, derived_transaction_id

_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@settings(max_examples=500, deadline=None)
@given(_TEXT, _TEXT)
def test_the_derived_id_is_uuid5_of_the_ledger_and_key(ledger_id: str, key: str) -> None:
    expected = f"tx-{uuid.uuid5(_TX_NAMESPACE, ledger_id + chr(10) + key)}"
    assert derived_transaction_id(ledger_id, key) == expected


def test_a_known_id_is_unchanged() -> None:
    """Pinned: every demo ledger and answer key names transactions by these ids."""
    assert derived_transaction_id("demo", "k1") == "tx-51604863-0dca-5569-bc13-bd4701a77f25"
