"""Last stage of the data flow: the only place that writes files.

Writers take values (frames, reports, manifests) and know nothing about where they came
from; every file they write can be read back by ``ledger_audit.sources``.
"""
