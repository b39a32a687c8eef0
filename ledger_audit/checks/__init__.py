"""Stage 3 of the data flow: the rule catalogue and the checks that return findings.

Arrives with the replay and integrity issue.
"""
