"""The words ``init`` recognises in a user's ledger, and ISO 4217 minor units.

Relation and column names, status values, directions and account classes.

Names are compared lower-cased; candidate lists are in order of preference (the first
column a relation has wins), so the order is part of the behaviour.
"""

from __future__ import annotations

ENTRY_RELATIONS = (
    "entries",
    "ledger_entries",
    "entry",
    "ledger_lines",
    "lines",
    "journal_lines",
    "journal_entries",
    "postings",
    "splits",
    "legs",
    "movements",
)
TRANSFER_RELATIONS = ("transfers", "transfer", "ledger_transfers", "payments")
TRANSACTION_RELATIONS = (
    "transactions",
    "transaction",
    "ledger_transactions",
    "ledger_txn",
    "ledger_txns",
    "journals",
    "journal",
    "txns",
    "txn",
)
ACCOUNT_RELATIONS = ("accounts", "account", "ledger_accounts", "chart_of_accounts")
BALANCE_RELATIONS = ("balances", "account_balances", "ledger_balances", "balance")
CURRENCY_RELATIONS = ("currencies", "currency", "assets")

ENTRY_TRANSACTION_ID = (
    "transaction_id",
    "tx_id",
    "txn_id",
    "transaction",
    "journal_id",
    "journal_entry_id",
    "entry_group_id",
    "txn",
    "tx",
)
ACCOUNT = (
    "account_id",
    "account",
    "account_code",
    "account_path",
    "account_name",
    "ledger_account_id",
    "ledger_account",
    "acct",
    "account_number",
    "account_no",
)
DEBIT_ACCOUNT = (
    "debit_account_id",
    "debit_account",
    "debit_account_code",
    "dr_account",
    "to_account_id",
    "to_account",
    "destination_account_id",
    "destination_account",
    "destination",
)
CREDIT_ACCOUNT = (
    "credit_account_id",
    "credit_account",
    "credit_account_code",
    "cr_account",
    "from_account_id",
    "from_account",
    "source_account_id",
    "source_account",
    "source",
)
AMOUNT = (
    "amount",
    "amount_minor",
    "amount_cents",
    "amount_minor_units",
    "amount_units",
    "minor_amount",
    "amount_decimal",
    "amount_major",
    "amt",
    "cents",
    "minor",
    "value",
)
DEBIT_AMOUNT = ("debit", "debit_amount", "dr_amount", "debits", "amount_debit")
CREDIT_AMOUNT = ("credit", "credit_amount", "cr_amount", "credits", "amount_credit")
"""Separate debit and credit amount columns (journal exports): not a form the mapping reads."""
MINOR_HINTS = ("cents", "minor", "units")
MAJOR_HINTS = ("decimal", "major")
DIRECTION = ("direction", "side", "dc", "debit_credit", "dr_cr", "entry_type", "type", "kind")
CURRENCY = (
    "currency",
    "currency_code",
    "ccy",
    "iso_currency",
    "currency_iso",
    "asset",
    "asset_code",
    "asset_id",
    "commodity",
)
ROW_ID = ("id", "entry_id", "line_id", "posting_id", "row_id", "transfer_id", "line")
INDEX = (
    "entry_index",
    "index",
    "line_no",
    "line_number",
    "leg_index",
    "posting_index",
    "position",
    "leg",
)
VERSION = ("version", "transaction_version", "revision", "rev")
TRANSACTION_ID = ("id", "transaction_id", "tx_id", "txn_id", "txn", "tx", "uuid")
STATUS = ("status", "state", "transaction_status", "posting_status")
KIND = ("kind", "transaction_kind", "transaction_type", "category", "type")
RECORDED_AT = (
    "recorded_at",
    "created_at",
    "inserted_at",
    "recorded_ns",
    "created_ns",
    "recorded_us",
    "created_us",
    "recorded_ms",
    "created_ms",
    "recorded",
    "created",
    "timestamp",
    "ts",
    "logged_at",
    "posted_at",
)
EFFECTIVE_AT = (
    "effective_at",
    "effective_ns",
    "effective_us",
    "effective_ms",
    "effective_date",
    "effective",
    "value_date",
    "occurred_at",
    "transaction_date",
    "booked_at",
    "booking_date",
    "posting_date",
    "date",
)
IDEMPOTENCY_KEY = (
    "idempotency_key",
    "idempotency_id",
    "idem_key",
    "idempotency",
    "idem",
    "request_key",
)
EXTERNAL_ID = (
    "external_id",
    "reference",
    "external_reference",
    "external_ref",
    "reference_id",
    "ref",
    "correlation_id",
)
DESCRIPTION = ("description", "memo", "narration", "note", "notes", "details")
METADATA = ("metadata", "meta", "attributes", "attrs", "properties", "extra")
PENDING_ID = ("pending_transaction_id", "pending_id", "hold_of", "hold_id", "hold")
REVERSES_ID = (
    "reverses_transaction_id",
    "reverses_id",
    "reversal_of",
    "reverses",
    "reversed_transaction_id",
    "original_transaction_id",
)

ACCOUNT_ID = (
    "account_id",
    "id",
    "code",
    "account_code",
    "account",
    "acct",
    "path",
    "number",
    "account_number",
)
ACCOUNT_NAME = ("name", "path", "account_name", "full_name", "display_name", "title", "label")
NORMAL_BALANCE = ("normal_balance", "normal_side", "balance_type", "normal", "side")
ACCOUNT_TYPE = (
    "type",
    "account_type",
    "category",
    "class",
    "account_class",
    "classification",
    "kind",
)
ALLOW_NEGATIVE = (
    "allow_negative",
    "allows_negative",
    "negative_allowed",
    "allow_overdraft",
    "overdraft_allowed",
    "can_go_negative",
    "negative_ok",
)
OPENED_AT = ("opened_at", "opened_ns", "opened_ms", "created_at", "created_ns", "opened")
CLOSED_AT = ("closed_at", "closed_ns", "closed_ms", "closed")

BALANCE_ACCOUNT = ("account_id", "account", "account_code")
POSTED_DEBITS = ("posted_debits", "debits_posted", "posted_debit", "debits", "debit_balance")
POSTED_CREDITS = ("posted_credits", "credits_posted", "posted_credit", "credits", "credit_balance")
PENDING_DEBITS = (
    "pending_debits",
    "debits_pending",
    "pending_debit",
    "held_debits",
    "inflight_debits",
    "inflight_debit_balance",
)
PENDING_CREDITS = (
    "pending_credits",
    "credits_pending",
    "pending_credit",
    "held_credits",
    "inflight_credits",
    "inflight_credit_balance",
)
AS_OF = ("as_of", "as_of_ns", "as_of_at", "updated_at", "computed_at", "updated_ns")
LOCK_VERSION = ("lock_version", "row_version")

LEDGER_ID = ("ledger_id", "ledger", "book_id", "book")
"""A column that keeps several ledgers in the same tables."""

HISTORY_RELATIONS = (
    "status_history",
    "transaction_status_history",
    "transaction_history",
    "transactions_history",
    "transaction_statuses",
    "transaction_events",
    "status_changes",
    "history",
)
HISTORY_AT = (
    "at",
    "at_ns",
    "at_us",
    "at_ms",
    "changed_at",
    "occurred_at",
    "created_at",
    "recorded_at",
    "updated_at",
    "timestamp",
    "ts",
)
HISTORY_ORDER = ("step", "seq", "sequence", "ordinal", "position", "order")

CHAIN_SEQ = ("chain_seq", "seq")
CHAIN_PREV_HASH = ("chain_prev_hash", "prev_hash", "previous_hash", "prev")
CHAIN_CONTENT_HASH = ("content_hash", "content")
CHAIN_HASH = ("chain_hash", "hash", "row_hash")
CHAIN_META_HASH = ("meta_hash",)

CURRENCY_CODE = ("code", "currency_code", "iso_code", "asset_code", "currency", "id")
CURRENCY_SCALE = (
    "scale",
    "minor_units",
    "minor_unit",
    "decimals",
    "decimal_places",
    "exponent",
    "digits",
)

STATUS_WORDS: dict[str, tuple[str, bool]] = {
    # value -> (canonical status, safe); a safe word means the same in every ledger we know
    "pending": ("pending", True),
    "inflight": ("pending", True),
    "in_flight": ("pending", True),
    "held": ("pending", True),
    "hold": ("pending", True),
    "authorized": ("pending", True),
    "authorised": ("pending", True),
    "processing": ("pending", False),
    "created": ("pending", False),
    "posted": ("posted", True),
    "settled": ("posted", True),
    "applied": ("posted", True),
    "committed": ("posted", True),
    "completed": ("posted", True),
    "complete": ("posted", True),
    "booked": ("posted", True),
    "cleared": ("posted", False),
    "succeeded": ("posted", False),
    "success": ("posted", False),
    "void": ("archived", True),
    "voided": ("archived", True),
    "cancelled": ("archived", True),
    "canceled": ("archived", True),
    "archived": ("archived", True),
    "discarded": ("archived", True),
    "rejected": ("archived", True),
    "failed": ("archived", True),
    "declined": ("archived", True),
    "expired": ("archived", True),
}
"""Status words. Left out on purpose: ``reversed``, ``refunded``, ``returned``: in some
ledgers the original stays posted and a reversal transaction undoes it (mapping it to
archived would count the undoing twice), in others it is a voided hold. The user decides."""

KIND_WORDS: dict[str, tuple[str, bool]] = {
    # value -> (canonical kind, safe)
    "standard": ("standard", True),
    "transfer": ("standard", True),
    "payment": ("standard", True),
    "regular": ("standard", True),
    "pending": ("pending", True),
    "hold": ("pending", True),
    "authorization": ("pending", True),
    "authorisation": ("pending", True),
    "post_pending": ("post_pending", True),
    "capture": ("post_pending", True),
    "void_pending": ("void_pending", True),
    "release": ("void_pending", True),
    "reversal": ("reversal", True),
    "refund": ("reversal", False),
    "adjustment": ("adjustment", True),
    "correction": ("adjustment", True),
    "opening": ("opening", True),
    "opening_balance": ("opening", True),
}
"""Transaction kind words. A refund is a reversal only when it returns the whole amount."""

DIRECTIONS = frozenset({"debit", "credit"})
"""The canonical directions (and normal balances)."""

DIRECTION_WORDS: dict[str, str] = {
    "debit": "debit",
    "credit": "credit",
    "dr": "debit",
    "cr": "credit",
    "d": "debit",
    "c": "credit",
    "db": "debit",
}

ACCOUNT_CLASSES: dict[str, str] = {
    "asset": "asset",
    "assets": "asset",
    "liability": "liability",
    "liabilities": "liability",
    "equity": "equity",
    "capital": "equity",
    "revenue": "revenue",
    "revenues": "revenue",
    "income": "revenue",
    "expense": "expense",
    "expenses": "expense",
    "cost": "expense",
    "costs": "expense",
}
"""Account class words (a type column's values, or an account id's first segment)."""

NORMAL_OF_CLASS: dict[str, str] = {
    "asset": "debit",
    "expense": "debit",
    "liability": "credit",
    "equity": "credit",
    "revenue": "credit",
}

DIGIT_CLASSES: dict[str, str] = {
    "1": "asset",
    "2": "liability",
    "3": "equity",
    "4": "revenue",
    "5": "expense",
    "6": "expense",
    "7": "expense",
    "8": "expense",
    "9": "expense",
}
"""The common numbered chart of accounts: the first digit gives the class."""

BANK_WORDS = ("bank", "cash", "settlement", "operating", "clearing")

_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP "
    "BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR "
    "FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW "
    "KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN "
    "NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD "
    "SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU "
    "UZS VED VES WST XCD XCG YER ZAR ZMW ZWG ZWL"
)
ISO_4217_SCALES: dict[str, int] = {
    **dict.fromkeys(_TWO.split(), 2),
    **dict.fromkeys(_ZERO.split(), 0),
    **dict.fromkeys(_THREE.split(), 3),
    **dict.fromkeys(_FOUR.split(), 4),
}
"""Minor-unit digits of the active ISO 4217 currency codes (2 unless listed otherwise)."""
