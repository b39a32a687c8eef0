"""Stage 1 of the data flow: the only place that opens databases and files to read them.

Everything downstream sees ``LedgerFrames`` (polars frames with the declared schemas) and a
``LoadReport``; SQLAlchemy, ADBC and file formats stay in this package.
"""

from ledger_audit.sources.conform import Reason
from ledger_audit.sources.ledger_frames import LedgerFrames, LoadReport, TableCount
from ledger_audit.sources.load import DEFAULT_BATCH_SIZE, load_ledger, open_source

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "LedgerFrames",
    "LoadReport",
    "Reason",
    "TableCount",
    "load_ledger",
    "open_source",
]
