"""Audit analytics over the replayed ledger: journal-entry testing, flux, Benford,
sampling, and the ledger-native idempotency, pending and reversal analytics.

Stage: after ``checks`` and ``replay`` in the data flow (values and findings, no files).
"""
