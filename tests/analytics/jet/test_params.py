"""The JET rules file: the shipped one reads to the documented defaults, bad keys are named."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from ledger_audit.analytics.jet.catalogue import JetRule
from ledger_audit.analytics.jet.params import JetParams, params_from_toml
from ledger_audit.errors import InputError
from ledger_audit.sources.toml_file import parse_toml

SHIPPED = Path(__file__).parents[3] / "rules" / "jet.toml"


def test_the_shipped_file_states_the_defaults() -> None:
    params = params_from_toml(
        parse_toml(SHIPPED.read_text(encoding="utf-8"), "jet.toml"), "jet.toml"
    )
    expected = replace(
        JetParams(),
        timezone="UTC",
        holidays=(dt.date(2025, 1, 1), dt.date(2025, 1, 20), dt.date(2025, 2, 17)),
    )
    assert params == expected
    assert params.to_json()["weights"] == {str(r): w for r, w in JetParams().weights}


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        ("[weekend]\nscop = 'all'", "[weekend] scop", "not a key"),
        ("[nonsense]\nx = 1", "[nonsense]", "not a table"),
        ("[entity]\ntimezone = 'Mars/Base'", "[entity] timezone", "IANA"),
        ("[backdated]\ndays = -1", "[backdated] days", "whole number"),
        ("[entity]\nbusiness_hours = ['18:00', '06:00']", "business_hours", "start before end"),
        ("[close]\nclosed_at = '2025-02-05T18:00:00'", "closed_at", "offset"),
        ("[outlier]\nweight = -2", "[outlier] weight", "number >= 0"),
    ],
)
def test_a_bad_key_names_the_table_and_key(text: str, where: str, why: str) -> None:
    with pytest.raises(InputError) as caught:
        params_from_toml(parse_toml(text, "f.toml"), "f.toml")
    assert where in str(caught.value)
    assert why in str(caught.value)


def test_close_instant_and_weights() -> None:
    params = params_from_toml(
        parse_toml("[close]\nclosed_at = 2025-02-05T18:00:00Z\n[duplicate]\nweight = 4", "f"), "f"
    )
    assert params.close_at_ns == 1_738_778_400 * 10**9
    assert params.weight(JetRule.DUPLICATE) == 4.0
