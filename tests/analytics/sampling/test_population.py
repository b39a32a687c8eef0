"""The MUS population: posted entries of one asset, latest posted version only."""

from __future__ import annotations

from ledger_audit.analytics.sampling.population import entry_population
from ledger_audit.viz.sampling import sampling_counts
from tests.text_ledger import ledger_from_text

LEDGER = """
ledger l
account assets:bank debit USD/2
account liabilities:wallet:a credit USD/2
account assets:eur debit EUR/2
account liabilities:wallet:e credit EUR/2
tx t1 standard posted at=10
  assets:bank debit 500 USD/2
  liabilities:wallet:a credit 500 USD/2
tx t2 pending pending at=20
  assets:bank debit 300 USD/2
  liabilities:wallet:a credit 300 USD/2
tx t2/1 pending posted at=30
  assets:bank debit 200 USD/2
  liabilities:wallet:a credit 200 USD/2
tx t3 pending pending at=40
  assets:bank debit 900 USD/2
  liabilities:wallet:a credit 900 USD/2
tx t4 standard posted at=50
  assets:eur debit 700 EUR/2
  liabilities:wallet:e credit 700 EUR/2
"""


def test_entry_population_is_posted_and_one_asset() -> None:
    population = entry_population(ledger_from_text(LEDGER), "USD/2")
    assert population.rows() == [
        ("l/t1#0", 500),
        ("l/t1#1", 500),
        ("l/t2#0", 200),
        ("l/t2#1", 200),
    ]


def test_slider_counts_match_the_tables() -> None:
    counts = sampling_counts(1_000_000_00, 0.95, 5.0, 1.0)
    assert counts.rows() == [
        ("attribute", 93, "attribute.binomial.clopper_pearson"),
        ("monetary unit", 93, "mus.poisson.gamma"),  # Table C-1: 5 % risk, ratio 0.2, 5 %
    ]
