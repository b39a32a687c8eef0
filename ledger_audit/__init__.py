"""ledger-audit: audit double-entry Ledger-as-a-Service ledgers.

Data flows one way: schema -> sources -> replay -> checks -> reconcile -> reports -> exports.
This module imports nothing heavy; `import ledger_audit` must stay fast.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ledger-audit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["__version__"]
