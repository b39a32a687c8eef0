"""``init``'s three files: valid TOML, read back by the project's own readers, placeholders
refused with their reason, and never written over without ``force``."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_audit.errors import InputError
from ledger_audit.exports.setup_files import (
    render_decisions,
    render_gl_mapping,
    render_mapping,
    render_rules,
    toml_key,
    toml_value,
    write_setup_files,
)
from ledger_audit.sources.gl_mapping import parse_gl_mapping, read_gl_mapping
from ledger_audit.sources.mapping import read_mapping
from ledger_audit.sources.mapping.inspect import inspect_source
from ledger_audit.sources.mapping.proposal import (
    FILL_IN,
    AccountGroup,
    BankAccountGuess,
    Confidence,
    Decision,
    Inline,
    Proposal,
)
from ledger_audit.sources.match_rules import parse_match_rules, read_match_rules
from tests.sources.mapping import conventional as conv


@pytest.fixture
def proposal(tmp_path: Path) -> Proposal:
    """The proposal for the conventional entry-per-row ledger in SQLite."""
    return inspect_source(conv.write_ledger(tmp_path, conv.entry_rows(), "sqlite"))


def _minimal(
    *,
    bank_accounts: tuple[BankAccountGuess, ...] = (),
    groups: tuple[AccountGroup, ...] = (),
) -> Proposal:
    decisions = (
        Decision("format", "ledger-audit/mapping/1", Confidence.SURE, "the format"),
        Decision("ledger.id", "books", Confidence.GUESSED, "from the name"),
    )
    return Proposal(
        source="books.sqlite",
        ledger_id="books",
        sample_rows=10,
        decisions=decisions,
        bank_accounts=bank_accounts,
        groups=groups,
    )


def test_the_mapping_parses_and_every_key_says_how_sure(proposal: Proposal, tmp_path: Path) -> None:
    text = render_mapping(proposal)
    document = tomllib.loads(text)
    assert document["format"] == "ledger-audit/mapping/1"
    assert document["entries"]["direction"] == {
        "column": "direction",
        "map": {"CR": "credit", "DR": "debit"},
    }
    assert "balances" not in document
    assert "chain" not in document
    for decision in proposal.decisions:
        if decision.value is None:
            continue
        line = next(
            line
            for line in text.splitlines()
            if line.startswith(f"{toml_key(decision.name)} = {toml_value(decision.value)}")
        )
        assert f"# {decision.confidence.value}: " in line
    assert "# [balances] left out: no balances relation" in text
    path = tmp_path / "mapping.toml"
    path.write_text(text)
    assert read_mapping(path).entries.section.relation.name == "entries"


def test_the_rules_ask_for_each_bank_number_and_read_once_filled_in(
    proposal: Proposal, tmp_path: Path
) -> None:
    text = render_rules(proposal)
    assert tomllib.loads(text)["accounts"][0]["account_ref"] == FILL_IN
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(InputError) as raised:
        read_match_rules(path)
    line = next(n for n, x in enumerate(text.splitlines(), 1) if x.startswith("account_ref = "))
    assert raised.value.locator == f"{path}:{line}"
    assert raised.value.reason == (
        "accounts[0].account_ref: to fill in: the number of the bank account behind ledger "
        "account assets:bank:operating:eur, as its statements name it"
    )
    ref = f'account_ref = "{FILL_IN}"'
    filled = text.replace(ref, 'account_ref = "DE00BANK0001"', 1)
    filled = filled.replace(ref, 'account_ref = "US00BANK0002"', 1)
    rules = parse_match_rules(filled, "rules.toml")
    assert [(a.account_ref, a.asset_id, a.account_id) for a in rules.accounts] == [
        ("DE00BANK0001", "EUR/2", "assets:bank:operating:eur"),
        ("US00BANK0002", "USD/2", "assets:bank:operating:usd"),
    ]
    assert rules.rails == ()


def test_rules_without_a_bank_account_ask_for_one() -> None:
    text = render_rules(_minimal())
    with pytest.raises(InputError, match=r"accounts\[0\]\.account_ref: to fill in: no bank-like"):
        parse_match_rules(text, "rules.toml")


def test_a_bank_account_of_unknown_currency_asks_for_its_asset() -> None:
    bank = BankAccountGuess("assets:cash:points", None, "its id or name says 'cash'")
    text = render_rules(_minimal(bank_accounts=(bank,)))
    filled = text.replace(f'account_ref = "{FILL_IN}"', 'account_ref = "ACC-1"')
    with pytest.raises(InputError, match=r"accounts\[0\]\.asset_id: to fill in: the currency"):
        parse_match_rules(filled, "rules.toml")


def test_the_gl_mapping_reads_and_maps_each_class_apart(proposal: Proposal, tmp_path: Path) -> None:
    path = tmp_path / "gl-mapping.toml"
    path.write_text(render_gl_mapping(proposal))
    mapping = read_gl_mapping(path)
    rules = [(r.pattern, r.gl_account) for r in mapping.rules]
    assert rules == [
        ("assets:bank:operating:eur", "1001"),
        ("assets:bank:operating:usd", "1002"),
        ("assets:*", "1100"),
        ("expenses:*", "6100"),
        ("liabilities:*", "2100"),
        ("revenue:*", "4100"),
    ]
    assert mapping.suspense_account == "9990"
    names = dict(mapping.gl_names)
    assert names["1001"] == "Bank: assets:bank:operating:eur"
    assert names["9990"] == "Suspense"


def test_unknown_prefixes_are_left_to_suspense_and_said() -> None:
    groups = (
        AccountGroup("assets:*", "asset", 3),
        AccountGroup("users:*", None, 40),
        AccountGroup("income:*", "revenue", 2),
        AccountGroup("revenue:*", "revenue", 2),
    )
    text = render_gl_mapping(_minimal(groups=groups))
    mapping = parse_gl_mapping(text, "gl-mapping.toml")
    assert [(r.pattern, r.gl_account) for r in mapping.rules] == [
        ("assets:*", "1100"),
        ("income:*", "4100"),
        ("revenue:*", "4200"),
    ]
    assert "left to suspense until you add a rule: users:*" in text


def test_single_accounts_of_a_class_share_the_class_account() -> None:
    groups = (
        AccountGroup("1010", "asset", 1),
        AccountGroup("1020", "asset", 1),
        AccountGroup("2000", "liability", 1),
    )
    mapping = parse_gl_mapping(render_gl_mapping(_minimal(groups=groups)), "gl.toml")
    assert [(r.pattern, r.gl_account) for r in mapping.rules] == [
        ("1010", "1000"),
        ("1020", "1000"),
        ("2000", "2000"),
    ]


def test_files_are_not_written_over_without_force(proposal: Proposal, tmp_path: Path) -> None:
    out = tmp_path / "setup"
    files = write_setup_files(proposal, out)
    files.rules.write_text("# my own edits\n")
    with pytest.raises(InputError, match="already exists: pass --force"):
        write_setup_files(proposal, out)
    assert files.rules.read_text() == "# my own edits\n"
    write_setup_files(proposal, out, force=True)
    assert files.rules.read_text() == render_rules(proposal)


def test_the_printed_summary_has_a_line_per_decision(proposal: Proposal) -> None:
    lines = render_decisions(proposal).splitlines()
    assert len(lines) == len(proposal.decisions) + 3
    assert lines[1] == '  sure      format = "ledger-audit/mapping/1"  (the format\'s version)'
    assert any(line.startswith("  guessed   ledger.id = ") for line in lines)
    assert lines[-2].endswith("0 to fill in.")
    assert lines[-1].startswith("Bank-like accounts (their numbers to fill in, in rules.toml): ")


_TEXT = st.text(st.characters(codec="utf-8"), max_size=30)
_VALUE = st.recursive(
    st.one_of(_TEXT, st.integers(-(10**18), 10**18), st.booleans()),
    lambda inner: st.lists(st.tuples(_TEXT, inner), max_size=4, unique_by=lambda kv: kv[0]).map(
        lambda items: Inline(tuple(items))
    ),
    max_leaves=8,
)


def _plain(value: object) -> object:
    if isinstance(value, Inline):
        return {k: _plain(v) for k, v in value.items}
    return value


@settings(max_examples=300, deadline=None)
@given(key=_TEXT.filter(bool), value=_VALUE)
def test_any_key_and_value_round_trips_through_toml(key: str, value: object) -> None:
    assert isinstance(value, (str, int, bool, Inline))
    document = tomllib.loads(f"{toml_key(key)} = {toml_value(value)}  # a comment\n")
    assert document == {key: _plain(value)}
