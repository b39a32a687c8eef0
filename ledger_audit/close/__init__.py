"""The month-end close: every stage over one period, its evidence bundle, its headless run."""
