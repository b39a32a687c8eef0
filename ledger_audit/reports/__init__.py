"""Stage 5 of the data flow: drift, rollups, trial balance and the close, as values.

Reports are frozen records of frames, rendered by ``exports``: trial balance, GL mapping,
summary journals, and the drift of ledger against bank balances.
"""
