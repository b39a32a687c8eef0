"""Audit analytics over the replayed ledger: journal-entry testing, flux and the like.

Stage: after ``checks`` and ``replay`` in the data flow (values and findings, no files).
"""
