"""docs/schema.md says what the code does: tables, types, keys, LACH-1 vectors, invariant rules.

Each test reads the page as a reader would (its markdown tables and code block) and holds
it equal to the code, so a change on either side that the other does not follow fails here.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import sqlalchemy as sa

from ledger_audit.schema import lach1
from ledger_audit.schema.frames import FRAME_SCHEMAS, KEYS
from ledger_audit.schema.tables import CANONICAL_TABLES, metadata
from ledger_audit.schema.times import iso_to_ns
from tests.conftest import PROJECT_ROOT

DOC = (PROJECT_ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
HEX = r"`([0-9a-f]{64})`"


def section(heading: str, text: str = DOC) -> str:
    """The text under a markdown heading, up to the next heading of the same or higher level."""
    match = re.search(rf"^(#+) {re.escape(heading)}\n", text, flags=re.MULTILINE)
    assert match, f"docs/schema.md has no heading {heading!r}"
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.MULTILINE)
    return rest[: end.start()] if end else rest


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the first markdown table in ``text``, cells stripped."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) > 2, "no markdown table"
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def plain(cell: str) -> str | None:
    """A cell's value: backticks removed, ``null`` as None."""
    value = cell.strip().strip("`")
    return None if value == "null" else value


@pytest.mark.parametrize("table", CANONICAL_TABLES)
def test_every_column_is_documented_with_its_types_nullability_and_key(table: str) -> None:
    text = section(f"`{table}`")
    key = re.search(r"^Key: (.+)$", text, flags=re.MULTILINE)
    assert key, f"{table}: no Key line"
    assert tuple(re.findall(r"`([a-z_]+)`", key.group(1))) == KEYS[table]
    sql = metadata.tables[table]
    assert tuple(c.name for c in sql.primary_key.columns) == KEYS[table]
    rows = table_rows(text)
    assert [plain(row[0]) for row in rows] == list(FRAME_SCHEMAS[table])
    assert [c.name for c in sql.columns] == list(FRAME_SCHEMAS[table])
    for name, sql_type, frame_type, null, meaning in rows:
        column: sa.Column[object] = sql.columns[str(plain(name))]
        assert sql_type == str(column.type), name
        assert frame_type == str(FRAME_SCHEMAS[table][str(plain(name))]), name
        assert null == ("yes" if column.nullable else "no"), name
        assert meaning, f"{name} has no meaning"


def documented_vectors() -> list[lach1.SealedVersion]:
    rows = table_rows(section("Test vectors"))
    out = []
    for seq, tx, kind, status, pending, idem, external, at, legs, _, _ in rows:
        entries = []
        for leg in legs.split(";"):
            index, account, asset, direction, amount = leg.split()
            entries.append(
                lach1.SealedEntry(
                    int(index), str(plain(account)), str(plain(asset)), direction, int(amount)
                )
            )
        ns = iso_to_ns(str(plain(at)))
        out.append(
            lach1.SealedVersion(
                "demo",
                int(seq),
                str(plain(tx)),
                0,
                str(plain(kind)),
                str(plain(status)),
                plain(pending),
                None,
                ns,
                ns,
                plain(idem),
                plain(external),
                tuple(entries),
            )
        )
    return out


def test_the_lach1_vectors_are_what_the_code_computes() -> None:
    text = section("Test vectors")
    genesis = re.search(rf"genesis\(`demo`\) = {HEX}", text)
    assert genesis
    assert genesis.group(1) == lach1.genesis("demo")
    rows = table_rows(text)
    sealed = lach1.seal_chain(documented_vectors(), lach1.genesis("demo"))
    assert len(sealed) == len(rows) == 3
    prev = lach1.genesis("demo")
    for row, (sealed_prev, content, link) in zip(rows, sealed, strict=True):
        assert sealed_prev == prev
        assert plain(row[9]) == content
        assert plain(row[10]) == link
        prev = link


def test_the_tampered_vector_and_the_sealed_bytes_are_what_the_code_computes() -> None:
    text = section("Test vectors")
    first = documented_vectors()[0]
    tampered = re.search(rf"amounts of seq 1 to (\d+) gives content\s+{HEX}", text)
    assert tampered
    amount = int(tampered.group(1))
    legs = tuple(
        lach1.SealedEntry(e.index, e.account_id, e.asset_id, e.direction, amount)
        for e in first.entries
    )
    changed = dataclasses.replace(first, entries=legs)
    assert lach1.content_hash(changed) == tampered.group(2)
    block = re.search(r"```json\n(.+)\n```", text)
    assert block
    assert block.group(1) == lach1.canonical_json(lach1.payload(first))
    assert lach1.sha256_hex(block.group(1)) == lach1.content_hash(first)


def test_the_invariants_name_exactly_the_rules_of_their_suites() -> None:
    rows = table_rows(section("Invariants"))
    assert [row[0] for row in rows] == [str(n) for n in range(1, 9)]
    suites = PROJECT_ROOT / "expectations"
    by_file: dict[str, set[str]] = {}
    for number, _, suite, rules in rows:
        name = str(plain(suite))
        by_file.setdefault(name, set()).update(re.findall(r"`([a-z_.]+)`", rules))
        loaded = json.loads((suites / name).read_text(encoding="utf-8"))
        covers = re.match(r"Invariants? ([\d, and]+)", loaded["meta"]["doc"])
        assert covers, name
        assert number in re.findall(r"\d", covers.group(1)), (number, name)
    for name, documented in by_file.items():
        loaded = json.loads((suites / name).read_text(encoding="utf-8"))
        assert documented == {e["meta"]["rule"] for e in loaded["expectations"]}, name
    assert set(by_file) == {p.name for p in suites.glob("*.json")}
