"""pgledger as a source mapping: everything the mapping format can say about it.

Accounts, transfers (two entries each: the ``from`` account debited, the ``to`` account
credited), NUMERIC amounts scaled exactly, ``event_at`` effective and ``created_at`` recorded,
and the accounts' cached balances are all expressible (docs/mapping.md), so they are a mapping
built here as text. Only the currency's scale is decided in code: pgledger stores a currency
code and decimals, not a scale, so the scale comes from ISO 4217 or from the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ledger_audit.sources.mapping.vocabulary import ISO_4217_SCALES

LEDGER_ID = "pgledger"
"""pgledger has no ledger entity: the one ledger of a database gets this id."""

TABLES: dict[str, tuple[str, ...]] = {
    "pgledger_accounts": (
        "id",
        "name",
        "currency",
        "balance",
        "version",
        "allow_negative_balance",
        "allow_positive_balance",
        "created_at",
        "updated_at",
    ),
    "pgledger_transfers": (
        "id",
        "from_account_id",
        "to_account_id",
        "amount",
        "created_at",
        "event_at",
        "metadata",
    ),
    "pgledger_entries": (
        "id",
        "account_id",
        "transfer_id",
        "amount",
        "account_previous_balance",
        "account_current_balance",
        "account_version",
        "created_at",
    ),
}
"""The columns the adapter reads, per table (pgledger.sql)."""

_TRANSFERS = (
    "SELECT t.id, t.from_account_id, t.to_account_id, t.amount, f.currency, t.created_at, "
    "t.event_at, t.metadata "
    "FROM pgledger_transfers t LEFT JOIN pgledger_accounts f ON f.id = t.from_account_id"
)
"""A transfer's currency is its accounts' (pgledger refuses a transfer across currencies).
The transactions and the entries read this one query: each transfer is read once."""

_STORED = (
    "SELECT a.id, a.currency, a.updated_at, a.version, "
    "COALESCE(d.debits, 0) AS posted_debits, a.balance + COALESCE(d.debits, 0) AS posted_credits, "
    "0 AS pending_debits, 0 AS pending_credits "
    "FROM pgledger_accounts a LEFT JOIN ("
    "SELECT from_account_id, SUM(amount) AS debits FROM pgledger_transfers "
    "GROUP BY from_account_id) d ON d.from_account_id = a.id"
)
"""pgledger caches one signed balance (credits - debits). The canonical stored balance has
debits and credits apart, so the debits are taken from the transfers and the credits are the
cached balance plus them: a cached balance that drifted shows as drifted credits."""


_NO_SCALES = "SELECT CAST(NULL AS TEXT) AS code, CAST(NULL AS INTEGER) AS scale WHERE false"


def resolve_scales(
    currencies: Iterable[str], overrides: Mapping[str, int] | None = None
) -> tuple[dict[str, int], tuple[str, ...]]:
    """The scale of each currency code present, and the codes that have none.

    An override wins; otherwise the ISO 4217 minor units of a known code (case as stored).
    A code with neither is left out, so its accounts and transfers are rejected rows.
    """
    given = dict(overrides or {})
    scales: dict[str, int] = {}
    unknown: list[str] = []
    for code in sorted(set(currencies)):
        if code in given:
            scales[code] = given[code]
        elif code.upper() in ISO_4217_SCALES:
            scales[code] = ISO_4217_SCALES[code.upper()]
        else:
            unknown.append(code)
    return scales, tuple(unknown)


def toml_key(code: str) -> str:
    """A currency code as a TOML quoted key (a stored code may hold any character)."""
    escaped = code.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def mapping_text(scales: Mapping[str, int]) -> str:
    """The pgledger mapping, with the scales of the currencies present."""
    inline = ", ".join(f"{toml_key(code)} = {scale}" for code, scale in sorted(scales.items()))
    # With no known currency the scales table would be empty, which the format refuses: an
    # empty query says the same (every account and transfer is then a rejected row).
    assets = (
        f"scales = {{ {inline} }}"
        if scales
        else f'query = "{_NO_SCALES}"\ncode = "code"\nscale = "scale"'
    )
    return f"""format = "ledger-audit/mapping/1"

[ledger]
id = "{LEDGER_ID}"
name = "pgledger"

[assets]
{assets}

[accounts]
from = "pgledger_accounts"
id = "id"
name = "name"
normal_balance = {{ value = "credit" }}
currency = "currency"
allow_negative = "allow_negative_balance"
opened_at = "created_at"

[transactions]
query = "{_TRANSFERS}"
shape = "row"
id = "id"
status = {{ value = "posted" }}
recorded_at = "created_at"
effective_at = "event_at"
metadata = "metadata"

[entries]
query = "{_TRANSFERS}"
shape = "transfer"
row_id = "id"
debit_account = "from_account_id"
credit_account = "to_account_id"
amount = {{ column = "amount", units = "major" }}
currency = "currency"

[balances]
query = "{_STORED}"
account = "id"
currency = "currency"
posted_debits = {{ column = "posted_debits", units = "major" }}
posted_credits = {{ column = "posted_credits", units = "major" }}
pending_debits = {{ column = "pending_debits", units = "major" }}
pending_credits = {{ column = "pending_credits", units = "major" }}
as_of = "updated_at"
lock_version = "version"
"""
