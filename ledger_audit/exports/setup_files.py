"""Write ``init``'s starter files: ``mapping.toml``, ``rules.toml`` and ``gl-mapping.toml``.

Each file is rendered from a :class:`Proposal` (a value: nothing here looks at a source) and
is read back by the project's own readers. Every key of the mapping carries a comment that
says what ``init`` found and how sure it is; an undecided value is the placeholder
``"FILL-IN"`` with the reason on the same line, which the readers quote when they refuse it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ledger_audit.errors import InputError
from ledger_audit.exports.atomic import write_text_atomic
from ledger_audit.sources.mapping.catalogue import VALUE_ROWS
from ledger_audit.sources.mapping.proposal import (
    FILL_IN,
    AccountGroup,
    Confidence,
    Decision,
    Inline,
    Proposal,
    Value,
)

MAPPING_FILE = "mapping.toml"
RULES_FILE = "rules.toml"
GL_MAPPING_FILE = "gl-mapping.toml"
SUSPENSE_ACCOUNT = "9990"
CLEARING_ACCOUNT = "9995"
_OPTIONAL_SECTIONS = frozenset({"balances", "chain"})
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_CLASS_GL = {
    "asset": (1000, "Assets"),
    "liability": (2000, "Liabilities"),
    "equity": (3000, "Equity"),
    "revenue": (4000, "Revenue"),
    "expense": (6000, "Expenses"),
}
_MAX_PER_CLASS = 9
_SHOWN = 10


@dataclass(frozen=True, slots=True)
class SetupFiles:
    """Where ``init`` wrote its three files."""

    mapping: Path
    rules: Path
    gl_mapping: Path


# --- TOML values --------------------------------------------------------------------------------


def toml_string(text: str) -> str:
    """A TOML basic string (JSON escapes are TOML escapes; DEL must be escaped too)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_key(key: str) -> str:
    """A bare key when it can be one, else a quoted key."""
    return key if _BARE_KEY.fullmatch(key) else toml_string(key)


def toml_value(value: Value) -> str:
    """``value`` as TOML on one line (inline tables included)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Inline):
        if not value.items:
            return "{}"
        inner = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items)
        return "{ " + inner + " }"
    return toml_string(value)


def _comment(text: str) -> str:
    return " ".join(text.split())


# --- mapping.toml -----------------------------------------------------------------------------


def _line(decision: Decision) -> str:
    if decision.value is None:
        return f"# {decision.name}: left out: {_comment(decision.reason)}"
    if decision.confidence == Confidence.UNDECIDED:
        note = _comment(decision.reason)
    else:
        note = f"{decision.confidence.value}: {_comment(decision.reason)}"
    return f"{toml_key(decision.name)} = {toml_value(decision.value)}  # {note}"


def render_mapping(proposal: Proposal) -> str:
    """The text of ``mapping.toml``."""
    undecided = len(proposal.undecided)
    lines = [
        f"# Source mapping of {proposal.source}",
        f"# written by `ledger-audit init` from the first {proposal.sample_rows:,} rows of each",
        "# relation. The format is docs/mapping.md. Each key's comment says what init found:",
        "#   sure:    names, types and values leave no doubt",
        "#   guessed: inferred from the sample or a convention; check it",
        f'#   "{FILL_IN}": undecided; the comment says what to write. `verify` refuses this',
        "#   file until every placeholder is replaced"
        + (f" ({undecided} left)." if undecided else " (none left)."),
        f"# Status, direction, type, kind and currency values: the first {VALUE_ROWS:,} rows.",
    ]
    if proposal.unused:
        lines.append(f"# Not read by this mapping: {', '.join(proposal.unused)}.")
    sections: dict[str, list[Decision]] = {}
    for decision in proposal.decisions:
        sections.setdefault(decision.section, []).append(decision)
    for section, decisions in sections.items():
        lines.append("")
        present = [d for d in decisions if d.value is not None]
        if section in _OPTIONAL_SECTIONS and not present:
            why = "; ".join(_comment(d.reason) for d in decisions)
            lines.append(f"# [{section}] left out: {why}")
            continue
        if section:
            lines.append(f"[{section}]")
        lines.extend(_line(d) for d in decisions)
    return "\n".join(lines) + "\n"


# --- rules.toml ---------------------------------------------------------------------------------

_RULES_TAIL = """
# --- date windows per rail ---------------------------------------------------------------------
# A bank line booked on day b may pair with a ledger item of effective date d when
# -days_before <= b - d <= days_after. Items no [[rails]] entry recognises take [default_rail].
[default_rail]
days_before = 1
days_after = 3

# Name your payment rails by the external-id prefixes or metadata events of their
# transactions, each with its own window (see rules/default.toml), for example:
# [[rails]]
# name = "ach"
# external_id_prefixes = ["ach-"]
# days_before = 0
# days_after = 5

# --- stage 3: scored one-to-one ------------------------------------------------------------------
[amount_tolerance]
absolute = 0             # minor units of the item's own asset
relative = 0.0           # at most 0.25

[score_weights]
amount = 0.5
date = 0.3
reference = 0.2

[thresholds]
auto = 0.9
suggest = 0.6
margin = 0.05

# --- stage 5: unkeyed batches (bounded subset-sum) ---------------------------------------------
[subset_sum]
pool = 20
max_group = 6
auto_unique = false
"""


def render_rules(proposal: Proposal) -> str:
    """The text of ``rules.toml``: the bank-like accounts, their numbers to fill in."""
    lines = [
        f"# Reconciliation rules for {proposal.source}, written by `ledger-audit init`.",
        "# Read by ledger_audit.sources.match_rules; rules/default.toml documents every key.",
        f'# Each bank account number is "{FILL_IN}": write it as your statements name it (IBAN',
        "# or account number); `reconcile` and `close` refuse the file until then. Remove the",
        "# accounts that are not bank accounts, add the ones init missed.",
        "",
        f"version = {toml_string(f'{proposal.ledger_id}-starter-1')}",
        'group_metadata_keys = ["payout_id", "batch_id"]',
        "",
        "# --- bank account mapping -------------------------------------------------------------",
        "# A statement's account (account_ref, and its currency as CODE/scale) is this ledger",
        "# account. A debit to it in the ledger is money in.",
    ]
    if not proposal.bank_accounts:
        lines += [
            "",
            "[[accounts]]",
            (
                f"account_ref = {toml_string(FILL_IN)}  # no bank-like account found (bank, cash, "
                "settlement, operating, clearing): the bank account number, as statements name it"
            ),
            f"asset_id = {toml_string(FILL_IN)}  # its currency as CODE/scale (USD/2)",
            f"account_id = {toml_string(FILL_IN)}  # the ledger account that mirrors it",
        ]
    for bank in proposal.bank_accounts:
        lines += [
            "",
            f"# {_comment(bank.account_id)}: {_comment(bank.reason)}",
            "[[accounts]]",
            (
                f"account_ref = {toml_string(FILL_IN)}  # the number of the bank account behind "
                f"ledger account {_comment(bank.account_id)}, as its statements name it"
            ),
        ]
        if bank.asset_id is None:
            lines.append(
                f"asset_id = {toml_string(FILL_IN)}  # the currency of "
                f"{_comment(bank.account_id)} as CODE/scale (USD/2): not known from the sample"
            )
        else:
            lines.append(f"asset_id = {toml_string(bank.asset_id)}")
        lines.append(f"account_id = {toml_string(bank.account_id)}")
    return "\n".join(lines) + "\n" + _RULES_TAIL


# --- gl-mapping.toml ----------------------------------------------------------------------------


def _class_numbers(groups: Iterable[AccountGroup]) -> dict[str, tuple[str, str]]:
    """GL number and name per class group pattern.

    A prefix group gets its own number in its class (1100, 1200...); a single account takes
    its class's number (1000, 2000...).
    """
    numbers: dict[str, tuple[str, str]] = {}
    seen: dict[str, int] = {}
    for group in groups:
        if group.account_class is None:
            continue
        base, name = _CLASS_GL[group.account_class]
        if group.accounts > 1 or group.pattern.endswith("*"):
            k = seen.get(group.account_class, 0)
            seen[group.account_class] = k + 1
            number = base + 100 * (k + 1) if k < _MAX_PER_CLASS else base + 50 + k
            numbers[group.pattern] = (str(number), f"{name}: {group.pattern}")
        else:
            numbers[group.pattern] = (str(base), name)
    return numbers


def render_gl_mapping(proposal: Proposal) -> str:
    """The text of ``gl-mapping.toml``: bank accounts, then one rule per account class group."""
    banks = [(b.account_id, f"10{i + 1:02d}") for i, b in enumerate(proposal.bank_accounts)]
    numbers = _class_numbers(proposal.groups)
    names = {number: f"Bank: {account}" for account, number in banks}
    names.update(dict(numbers.values()))
    names[SUSPENSE_ACCOUNT] = "Suspense"
    names[CLEARING_ACCOUNT] = "Journal Chunk Clearing"
    unknown = [g.pattern for g in proposal.groups if g.account_class is None]
    lines = [
        f"# GL mapping for {proposal.source}, written by `ledger-audit init`.",
        "# Ledger account ids -> GL accounts: assets 1xxx, liabilities 2xxx, equity 3xxx,",
        "# revenue 4xxx, expenses 6xxx. Rules are ordered and the first matching pattern wins",
        "# (`*` any run of characters, `?` one). Renumber to your chart of accounts.",
        (
            f"# Activity no rule matches goes to suspense {SUSPENSE_ACCOUNT} and raises an "
            "erp.unmapped_account finding."
        ),
    ]
    if unknown:
        more = len(unknown) - _SHOWN
        shown = ", ".join(unknown[:_SHOWN]) + (f" (+{more} more)" if more > 0 else "")
        lines.append(
            f"# Not a known account class, so left to suspense until you add a rule: {shown}"
        )
    lines += [
        "",
        f"version = {toml_string(f'{proposal.ledger_id}-starter-1')}",
        f"suspense_account = {toml_string(SUSPENSE_ACCOUNT)}",
        f"clearing_account = {toml_string(CLEARING_ACCOUNT)}",
        "",
        "[gl_accounts]",
        *(f"{toml_string(n)} = {toml_string(names[n])}" for n in sorted(names)),
    ]
    for account, number in banks:
        lines += [
            "",
            "[[rules]]",
            f"pattern = {toml_string(account)}",
            f"gl_account = {toml_string(number)}",
        ]
    for group in proposal.groups:
        if group.pattern in numbers:
            number = numbers[group.pattern][0]
            lines += [
                "",
                "[[rules]]",
                f"pattern = {toml_string(group.pattern)}",
                f"gl_account = {toml_string(number)}",
            ]
    return "\n".join(lines) + "\n"


# --- what init prints ------------------------------------------------------------------------

_LABELS = {Confidence.SURE: "sure", Confidence.GUESSED: "guessed", Confidence.UNDECIDED: FILL_IN}


def render_decisions(proposal: Proposal) -> str:
    """What ``init`` mapped and how sure, one line per decision, then the totals."""
    lines = [f"Inspected {proposal.source} (first {proposal.sample_rows:,} rows of each relation):"]
    for decision in proposal.decisions:
        if decision.value is None:
            lines.append(f"  {'-':<9} {decision.key}: left out ({decision.reason})")
            continue
        label = _LABELS[decision.confidence]
        shown = toml_value(decision.value)
        lines.append(f"  {label:<9} {decision.key} = {shown}  ({decision.reason})")
    present = [d.confidence for d in proposal.decisions if d.value is not None]
    lines.append(
        f"{present.count(Confidence.SURE)} sure, {present.count(Confidence.GUESSED)} guessed, "
        f"{present.count(Confidence.UNDECIDED)} to fill in."
    )
    if proposal.unused:
        lines.append(f"Not read by the mapping: {', '.join(proposal.unused)}.")
    banks = ", ".join(
        f"{b.account_id} ({b.asset_id or 'currency to fill in'})" for b in proposal.bank_accounts
    )
    lines.append(
        f"Bank-like accounts (their numbers to fill in, in rules.toml): {banks or 'none'}."
    )
    return "\n".join(lines) + "\n"


# --- the three files --------------------------------------------------------------------------


def setup_paths(out: Path) -> SetupFiles:
    """Where ``init`` writes in ``out``."""
    return SetupFiles(out / MAPPING_FILE, out / RULES_FILE, out / GL_MAPPING_FILE)


def refuse_existing(out: Path) -> None:
    """Raise InputError when one of the three files already exists in ``out``."""
    paths = setup_paths(out)
    for path in (paths.mapping, paths.rules, paths.gl_mapping):
        if path.exists():
            raise InputError(str(path), "already exists: pass --force to replace it")


def write_setup_files(proposal: Proposal, out: Path, *, force: bool = False) -> SetupFiles:
    """Write the three files into ``out``; an existing one is replaced only with ``force``.

    Nothing is written when any of them exists without ``force``.
    """
    paths = setup_paths(out)
    targets = (paths.mapping, paths.rules, paths.gl_mapping)
    if not force:
        refuse_existing(out)
    texts = (render_mapping(proposal), render_rules(proposal), render_gl_mapping(proposal))
    for path, text in zip(targets, texts, strict=True):
        write_text_atomic(path, text)
    return paths


def write_starter_files(proposal: Proposal, out: Path, *, force: bool = False) -> SetupFiles:
    """``init --adapter``: only ``rules.toml`` and ``gl-mapping.toml`` (the adapter is the mapping).

    Nothing is written when either exists without ``force``.
    """
    paths = setup_paths(out)
    targets = (paths.rules, paths.gl_mapping)
    if not force:
        for path in targets:
            if path.exists():
                raise InputError(str(path), "already exists: pass --force to replace it")
    for path, text in zip(
        targets, (render_rules(proposal), render_gl_mapping(proposal)), strict=True
    ):
        write_text_atomic(path, text)
    return paths
