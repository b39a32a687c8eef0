"""Check a close's inputs before its notebook starts, so a bad one fails in seconds.

A headless close starts a kernel, imports every stage, then loads and audits the ledger for
minutes before the notebook reads its first statement: a statement that does not parse used
to surface only there. ``check_close_inputs`` reads, before any kernel starts, what is cheap
to read, with the readers the notebook's ``run_close`` uses, so an input fails with the
same ``InputError`` (the same message) it would raise in the notebook:

- the ledger is opened and its catalogue checked (every canonical table and column, or,
  with a source mapping, every relation and column the mapping names, with their types; a
  database's read-only snapshot started, a folder's file headers read), but no row is
  read: reading and judging rows is the notebook's work;
- every statement is parsed (large files side by side, a child process per file and as many
  at a time as there are cores: ``sources.bank.background.check_statements``; 7 s for the
  1M demo's three files one after another);
- the rules (when there are statements), the GL mapping, the checkpoints and the JET
  parameters are read.

They are read in ``run_close``'s order, so the first bad input is the one the notebook
would have named.
"""

from __future__ import annotations

from pathlib import Path

from ledger_audit.analytics.jet.params import read_jet_params
from ledger_audit.close.run import CloseParameters
from ledger_audit.sources.bank.background import check_statements
from ledger_audit.sources.checkpoints import read_checkpoints
from ledger_audit.sources.flux_explanations import read_explanations
from ledger_audit.sources.gl_mapping import read_gl_mapping
from ledger_audit.sources.match_rules import read_match_rules
from ledger_audit.sources.reading import check_ledger_source


def check_close_inputs(parameters: CloseParameters) -> None:
    """Raise the ``InputError`` the close would raise on an input it cannot use.

    Raises:
        InputError: the ledger does not open or lacks a table or column, a statement does
            not parse, or the rules, GL mapping, checkpoints, JET rules or flux
            explanations file is unreadable or invalid; it names the file (and line or
            record where it can) and what was wrong.
    """
    if parameters.statements:
        read_match_rules(parameters.rules_path)
    if parameters.gl_mapping is not None:
        read_gl_mapping(Path(parameters.gl_mapping))
    if parameters.checkpoints is not None:
        read_checkpoints(Path(parameters.checkpoints))
    if parameters.jet_rules is not None:
        read_jet_params(parameters.jet_rules)
    if parameters.flux_explanations is not None:
        read_explanations(Path(parameters.flux_explanations))
    check_ledger_source(
        parameters.source, mapping=parameters.source_mapping, adapter=parameters.adapter
    )
    if parameters.statements:
        check_statements(parameters.statements, encoding=parameters.statement_encoding)
