"""The GL mapping file: reading, first-match-wins globbing, and one error per bad input."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ledger_audit.errors import InputError
from ledger_audit.reports.gl_mapping import apply_mapping
from ledger_audit.sources.gl_mapping import GlMapping, GlRule, parse_gl_mapping, read_gl_mapping

DEMO_MAPPING = Path(__file__).resolve().parents[2] / "mappings" / "demo.toml"

HEAD = """\
version = "v1"
suspense_account = "9990"
clearing_account = "9995"
dimensions = ["department", "location"]
"""


def mapped(mapping: GlMapping, *accounts: str) -> list[tuple[str, int | None, str]]:
    rows = pl.LazyFrame({"account_id": list(accounts)})
    out = apply_mapping(rows, mapping).collect()
    return [
        (r["account_id"], r["rule_index"], r["gl_account"])
        for r in out.sort("account_id").iter_rows(named=True)
    ]


def test_demo_mapping_reads() -> None:
    mapping = read_gl_mapping(DEMO_MAPPING)
    assert mapping.version == "demo-2025.1"
    assert (mapping.suspense_account, mapping.clearing_account) == ("9990", "9995")
    assert mapping.dimensions == ("department", "class", "location")
    assert len(mapping.rules) == 12
    assert mapping.rules[4] == GlRule("liabilities:wallet:*:usd", "2010", ("wallets", None, "US"))
    assert dict(mapping.gl_names)["2010"] == "Customer Wallets:USD"
    assert mapping.source == str(DEMO_MAPPING)


def test_first_matching_rule_wins() -> None:
    mapping = parse_gl_mapping(
        HEAD
        + """
[[rules]]
pattern = "liabilities:wallet:vip:*"
gl_account = "2050"
dimensions = { department = "vip" }

[[rules]]
pattern = "liabilities:wallet:*"
gl_account = "2010"
""",
        "m.toml",
    )
    assert mapped(mapping, "liabilities:wallet:vip:usd", "liabilities:wallet:u1:usd") == [
        ("liabilities:wallet:u1:usd", 1, "2010"),
        ("liabilities:wallet:vip:usd", 0, "2050"),
    ]


def test_glob_semantics() -> None:
    mapping = GlMapping(
        version="v",
        suspense_account="S",
        clearing_account="C",
        rules=(
            GlRule("a.b", "dot"),  # '.' is literal
            GlRule("x?z", "one"),  # '?' is exactly one character
            GlRule("card-network:*", "star"),  # '*' spans ':' too
        ),
    )
    assert mapped(
        mapping, "a.b", "axb", "xyz", "xz", "card-network:payable:usd", "Card-network:x"
    ) == [
        ("Card-network:x", None, "S"),  # case counts
        ("a.b", 0, "dot"),
        ("axb", None, "S"),
        ("card-network:payable:usd", 2, "star"),
        ("xyz", 1, "one"),
        ("xz", None, "S"),
    ]


def test_no_rules_sends_everything_to_suspense() -> None:
    mapping = GlMapping(version="v", suspense_account="S", clearing_account="C")
    assert mapped(mapping, "a", "b") == [("a", None, "S"), ("b", None, "S")]


@pytest.mark.parametrize(
    ("body", "where", "reason"),
    [
        (
            'suspense_account = "9"\nclearing_account = "8"\n',
            "m.toml",
            "version must be a non-empty string",
        ),
        (HEAD + 'colour = "red"\n', "m.toml:5", "unknown key 'colour'"),
        (
            HEAD + '\n[[rules]]\npattern = "a"\ngl_account = "1"\n\n[[rules]]\npattern = "b"\n',
            "m.toml:10 (rules[1])",
            "gl_account must be a non-empty string",
        ),
        (
            HEAD + '\n[[rules]]\npattern = "a"\ngl_account = "1"\ndimensions = { team = "x" }\n',
            "m.toml:6 (rules[0])",
            "dimension 'team' is not declared in the top-level dimensions",
        ),
        (
            HEAD + '\n[[rules]]\npattern = "a"\ngl_account = "9990"\n',
            "m.toml:6 (rules[0])",
            (
                "rules[0]: gl_account '9990' is the suspense or clearing account, which only the "
                "rollup itself may post to"
            ),
        ),
        (
            HEAD + '\n[[rules]]\npattern = "a"\ngl_account = "1"\nweight = 2\n',
            "m.toml:6 (rules[0])",
            "unknown key 'weight' (expected pattern, gl_account, dimensions)",
        ),
        (
            HEAD.replace('"location"]', '"debit"]'),
            "m.toml:4",
            (
                "dimensions: 'debit' is not a usable dimension name (a lower-case identifier that "
                "is not a report column name)"
            ),
        ),
        (
            HEAD.replace('"9995"', '"9990"'),
            "m.toml:3",
            "clearing_account: must differ from suspense_account",
        ),
        ('rules = "x"\n' + HEAD, "m.toml:1", "rules must be an array of tables ([[rules]])"),
    ],
)
def test_bad_mapping_names_file_line_and_reason(body: str, where: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_gl_mapping(body, "m.toml")
    assert (caught.value.locator, caught.value.reason) == (where, reason)


def test_invalid_toml_names_the_file_and_line() -> None:
    with pytest.raises(InputError) as caught:
        parse_gl_mapping('version = "v1"\nsuspense_account = \n', "m.toml")
    assert caught.value.locator == "m.toml"
    assert caught.value.reason.startswith("not valid TOML: ")
    assert "line 2" in caught.value.reason


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    with pytest.raises(InputError) as caught:
        read_gl_mapping(missing)
    assert caught.value.locator == str(missing)
    assert caught.value.reason.startswith("cannot read the mapping file")


def test_record_checks_rule_dimension_count() -> None:
    with pytest.raises(InputError, match=r"rules\[0\]: has 0 dimension values for 1 dimensions"):
        GlMapping(
            version="v",
            suspense_account="S",
            clearing_account="C",
            dimensions=("department",),
            rules=(GlRule("a", "1"),),
        )
