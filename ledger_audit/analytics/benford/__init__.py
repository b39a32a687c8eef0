"""Benford's law tests on exact integer minor units (ANALYTICS.md 3.1, 3.2).

Stage: analytics (after ``replay``): frames in, frames out, no files. Digits come from the
decimal string of the integer amount, never from floating-point arithmetic.
"""
