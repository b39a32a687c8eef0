"""Stage 4 of the data flow: ledger entries matched to bank and processor records.

``internal.internal_items`` turns the ledger frames into items on the mapped bank accounts;
``match.reconcile`` matches them to the canonical external records (``sources.bank``) in
the stages of DESIGN.md section 7 (``stages``, ``subset_sum``), then classifies and ages
what is left (``breaks``, ``aging``), and ties processor payouts out three ways
(``payouts``). Given a period (``normalise.Window``), records and items outside it are
counted, not matched (``match`` says how; ``docs/reconciliation.md``). Works on frames and
records only: the rules come from ``sources.match_rules``.
"""
