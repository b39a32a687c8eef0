"""Demo ledgers written into vendors' own layouts, for the adapters' tests and benchmarks."""
