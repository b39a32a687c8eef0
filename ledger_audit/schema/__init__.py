"""Stage 0 of the data flow, the shared vocabulary: ledger tables, frame schemas, LACH-1, times.

Every other stage may import from here; this package imports from no other stage.
"""
