"""Beside the data flow: writes a demo ledger through the reference writer.

``build_demo`` (``build.py``) streams a realistic month (``scenario.py``) through
``ledger_audit.ledger.writer``, plants known anomalies the way a buggy job, an attacker and a
cache edit would (``plant.py``), and writes the answer key (``answer_key.py``) and a summary
(``summary.py``). The audit stages never import this package; they only read what it wrote.
"""
