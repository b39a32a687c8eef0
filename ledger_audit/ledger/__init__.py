"""Beside the data flow: the reference ledger, the correct write path that ledger-audit audits.

It posts balanced, idempotent, sealed (LACH-1) transaction versions, and projects the cached
balances table from the append-only log. The demo ledger is written through it.
"""
