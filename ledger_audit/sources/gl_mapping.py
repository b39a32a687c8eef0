"""The GL mapping record, and its reader from a TOML file.

A mapping says which general-ledger account and dimensions each ledger account rolls up to.
It is versioned (the version goes into every journal's external id) and holds an ordered
list of rules. A rule's ``pattern`` is a glob over the ledger's ``account_id`` (the account
path, e.g. ``liabilities:wallet:u000042:usd``): ``*`` matches any run of characters, ``:``
included, ``?`` exactly one character, everything else itself; the whole path must match
and case counts. **The first rule that matches wins**, so put narrow patterns before broad
ones. An account no rule matches rolls up to the suspense GL account (never dropped), and
the journals report it as an ``erp.unmapped_account`` finding.

Dimensions are a few named text columns (department, class, location...) declared once per
mapping; each rule gives a value for some of them (the others stay empty). The suspense and
clearing accounts are reserved: no rule may target them, so a balance there means exactly
"unmapped activity" or "chunk balancing lines", and nothing else.

The record lives here, beside its reader, as ``LedgerFrames`` does: ``reports`` (to the
right in the data flow) applies it (``ledger_audit.reports.gl_mapping``).

The file::

    version = "demo-2025.1"          # goes into every journal external id
    suspense_account = "9990"        # unmapped activity lands here (plus a finding)
    clearing_account = "9995"        # balancing line of each chunk of a split journal
    dimensions = ["department", "class", "location"]   # optional, in column order

    [gl_accounts]                    # optional display names (QuickBooks imports names)
    "1010" = "Cash:Operating USD"

    [[rules]]                        # ordered: the first matching pattern wins
    pattern = "liabilities:wallet:*:usd"
    gl_account = "2100"
    dimensions = { department = "wallets", location = "US" }   # optional, declared names

Any problem raises :class:`InputError` naming the file, the line (of the ``[[rules]]``
header for a rule, of the key for a top-level value) and the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ledger_audit.errors import InputError
from ledger_audit.sources.toml_file import TomlLines, parse_toml, read_text

DIMENSION_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
"""A dimension name is a lower-case identifier: it becomes a column of the journal frames."""

RESERVED_COLUMNS = frozenset(
    {
        "period",
        "ledger_id",
        "account_id",
        "asset_id",
        "currency",
        "scale",
        "normal_balance",
        "opening",
        "debits",
        "credits",
        "closing",
        "difference",
        "journal_id",
        "journal_date",
        "journal_key",
        "chunk",
        "chunks",
        "memo",
        "line_no",
        "line_id",
        "line_kind",
        "gl_account",
        "gl_name",
        "rule_index",
        "pattern",
        "description",
        "side",
        "debit",
        "credit",
        "net",
        "entry_count",
        "transaction_id",
        "version",
        "entry_index",
        "at_ns",
        "movement",
        "journal_debits",
        "journal_credits",
        "journal_net",
        "trial_balance_debits",
        "trial_balance_credits",
        "trial_balance_net",
    }
)
"""Column names of the report frames; a dimension may not take one of them."""


@dataclass(frozen=True, slots=True)
class GlRule:
    """One mapping rule.

    Attributes:
        pattern: glob over ledger account ids (``*`` any run, ``?`` one character).
        gl_account: the GL account (number or name, as the ERP knows it) it rolls up to.
        dimensions: one value per dimension of the mapping, in the mapping's order; None
            where the rule sets no value.
    """

    pattern: str
    gl_account: str
    dimensions: tuple[str | None, ...] = ()

    @property
    def regex(self) -> str:
        """The pattern as an anchored regular expression (polars/Rust syntax)."""
        parts = []
        for char in self.pattern:
            if char == "*":
                parts.append(".*")
            elif char == "?":
                parts.append(".")
            elif char.isascii() and (char.isalnum() or char == "_"):
                parts.append(char)
            else:
                parts.append(f"\\x{{{ord(char):x}}}")
        return "^" + "".join(parts) + "$"


@dataclass(frozen=True, slots=True)
class GlMapping:
    """A versioned mapping from ledger account paths to GL accounts and dimensions.

    Attributes:
        version: the mapping's version text; part of every journal's external id, so a
            new mapping version gives new journals rather than silently changing old ones.
        suspense_account: GL account that receives activity no rule maps.
        clearing_account: GL account of the balancing line of each chunk of a journal split
            to fit an ERP's line limit (nets to zero over the chunks of one journal).
        dimensions: the dimension names, in column order.
        rules: ordered rules; the first that matches an account wins.
        gl_names: (GL account, display name) pairs, for ERPs that import names, not numbers.
        source: where the mapping came from (a file path), for manifests; None if built in code.
    """

    version: str
    suspense_account: str
    clearing_account: str
    dimensions: tuple[str, ...] = ()
    rules: tuple[GlRule, ...] = ()
    gl_names: tuple[tuple[str, str], ...] = ()
    source: str | None = None

    def __post_init__(self) -> None:
        for name, value in (
            ("version", self.version),
            ("suspense_account", self.suspense_account),
            ("clearing_account", self.clearing_account),
        ):
            if not value.strip():
                raise InputError(name, "must be a non-empty text")
        if self.suspense_account == self.clearing_account:
            raise InputError("clearing_account", "must differ from suspense_account")
        for name in self.dimensions:
            if not DIMENSION_NAME.match(name) or name in RESERVED_COLUMNS:
                raise InputError(
                    "dimensions",
                    f"{name!r} is not a usable dimension name (a lower-case identifier that is "
                    "not a report column name)",
                )
        if len(set(self.dimensions)) != len(self.dimensions):
            raise InputError("dimensions", "a dimension name appears twice")
        reserved = {self.suspense_account, self.clearing_account}
        for index, rule in enumerate(self.rules):
            where = f"rules[{index}]"
            if not rule.pattern:
                raise InputError(where, "pattern is empty")
            if not rule.gl_account.strip():
                raise InputError(where, "gl_account is empty")
            if rule.gl_account in reserved:
                raise InputError(
                    where,
                    f"gl_account {rule.gl_account!r} is the suspense or clearing account, "
                    "which only the rollup itself may post to",
                )
            if len(rule.dimensions) != len(self.dimensions):
                raise InputError(
                    where,
                    f"has {len(rule.dimensions)} dimension values for "
                    f"{len(self.dimensions)} dimensions",
                )

    def rule_frame(self) -> pl.DataFrame:
        """One row per rule plus the suspense row (``rule_index`` null): GL account and dims."""
        rows = [
            {
                "rule_index": index,
                "pattern": rule.pattern,
                "gl_account": rule.gl_account,
                **dict(zip(self.dimensions, rule.dimensions, strict=True)),
            }
            for index, rule in enumerate(self.rules)
        ]
        rows.append(
            {
                "rule_index": None,
                "pattern": None,
                "gl_account": self.suspense_account,
                **dict.fromkeys(self.dimensions),
            }
        )
        schema: dict[str, pl.DataType] = {
            "rule_index": pl.Int32(),
            "pattern": pl.String(),
            "gl_account": pl.String(),
            **{name: pl.String() for name in self.dimensions},
        }
        return pl.DataFrame(rows, schema=schema)

    def gl_name_frame(self) -> pl.DataFrame:
        """(gl_account, gl_name) of the accounts that have a display name."""
        return pl.DataFrame(
            list(self.gl_names),
            schema={"gl_account": pl.String(), "gl_name": pl.String()},
            orient="row",
        )


_TOP_KEYS = frozenset(
    {"version", "suspense_account", "clearing_account", "dimensions", "gl_accounts", "rules"}
)
_RULE_KEYS = frozenset({"pattern", "gl_account", "dimensions"})
_RULE_INDEX = re.compile(r"^rules\[(\d+)\]")


def read_gl_mapping(path: Path) -> GlMapping:
    """The mapping in TOML file ``path``; a bad file raises InputError (file:line, reason)."""
    return parse_gl_mapping(read_text(path, "mapping"), str(path))


def parse_gl_mapping(text: str, source: str) -> GlMapping:
    """The mapping in TOML ``text``; ``source`` names it in errors and in the record."""
    document = parse_toml(text, source)
    lines = _Lines(text, source)
    unknown = sorted(set(document) - _TOP_KEYS)
    if unknown:
        raise InputError(lines.locate(unknown[0]), f"unknown key {unknown[0]!r}")
    version = _text(document, "version", lines.locate("version"))
    suspense = _text(document, "suspense_account", lines.locate("suspense_account"))
    clearing = _text(document, "clearing_account", lines.locate("clearing_account"))
    dimensions = _dimension_names(document.get("dimensions", []), lines.locate("dimensions"))
    gl_names = _gl_names(document.get("gl_accounts", {}), lines.locate("gl_accounts"))
    raw_rules = document.get("rules", [])
    if not isinstance(raw_rules, list):
        raise InputError(lines.locate("rules"), "rules must be an array of tables ([[rules]])")
    rules = tuple(_rule(raw, dimensions, lines.rule(index)) for index, raw in enumerate(raw_rules))
    try:
        return GlMapping(
            version=version,
            suspense_account=suspense,
            clearing_account=clearing,
            dimensions=dimensions,
            rules=rules,
            gl_names=gl_names,
            source=source,
        )
    except InputError as exc:
        match = _RULE_INDEX.match(exc.locator)
        where = lines.rule(int(match.group(1))) if match else lines.locate(exc.locator)
        raise InputError(where, f"{exc.locator}: {exc.reason}") from exc


class _Lines(TomlLines):
    """Where a mapping's keys and ``[[rules]]`` entries are."""

    def rule(self, index: int) -> str:
        return f"{self.locate(f'rules[{index}]')} (rules[{index}])"


def _text(document: dict[str, Any], key: str, where: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InputError(where, f"{key} must be a non-empty string")
    return value


def _dimension_names(raw: object, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise InputError(where, "dimensions must be an array of names")
    return tuple(raw)


def _gl_names(raw: object, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise InputError(where, "gl_accounts must be a table of GL account = display name")
    return tuple(sorted(raw.items()))


def _rule(raw: object, dimensions: tuple[str, ...], where: str) -> GlRule:
    if not isinstance(raw, dict):
        raise InputError(where, "a rule must be a table")
    unknown = sorted(set(raw) - _RULE_KEYS)
    if unknown:
        raise InputError(
            where, f"unknown key {unknown[0]!r} (expected pattern, gl_account, dimensions)"
        )
    pattern, gl_account = raw.get("pattern"), raw.get("gl_account")
    if not isinstance(pattern, str) or not pattern:
        raise InputError(where, "pattern must be a non-empty string")
    if not isinstance(gl_account, str) or not gl_account.strip():
        raise InputError(where, "gl_account must be a non-empty string")
    values = raw.get("dimensions", {})
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        raise InputError(where, "dimensions must be a table of dimension name = text value")
    undeclared = sorted(set(values) - set(dimensions))
    if undeclared:
        raise InputError(
            where, f"dimension {undeclared[0]!r} is not declared in the top-level dimensions"
        )
    return GlRule(
        pattern=pattern,
        gl_account=gl_account,
        dimensions=tuple(values.get(name) for name in dimensions),
    )
