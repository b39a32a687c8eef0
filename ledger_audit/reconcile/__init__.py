"""Stage 4 of the data flow: ledger entries matched to bank and processor records.

Breaks classified and aged; arrives with the reconciliation issue.
"""
