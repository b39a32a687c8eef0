"""Journal-entry testing (JET): the JE-01..JE-22 rule pack, its parameters and risk score.

Stage: analytics (reads canonical frames, returns findings frames and score tables). The
catalogue and defaults follow ANALYTICS.md section 3.3; :func:`run_jet` runs the pack.
"""
