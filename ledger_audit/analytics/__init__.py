"""Audit analytics over the replayed ledger: JET, flux, Benford, sampling and the like.

Beside journal-entry testing and flux: the Benford suite, statistical sampling, and the
ledger-native idempotency, pending and reversal analytics.

Stage: after ``checks`` and ``replay`` in the data flow (values and findings, no files).
"""
