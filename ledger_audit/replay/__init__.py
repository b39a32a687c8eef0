"""Stage 2 of the data flow: balances as of any instant, history and roll-forwards.

Replayed from the canonical frames; arrives with the replay and integrity issue.
"""
