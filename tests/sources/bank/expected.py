"""Read the expected parses that sit beside the samples, in their own object models.

The MT940 files were dumped by the ``mt940`` package with PyYAML's Python tags; they are
read here with a safe loader that turns ``python/object`` into plain dicts and knows only
``decimal.Decimal`` and ``mt940.models.Date`` (a pickled ``datetime.date``), so no object
of theirs is ever built.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml


class _SafeLoader(yaml.SafeLoader):
    pass


def _object(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    data: dict[str, Any] = {}
    yield data
    assert isinstance(node, yaml.MappingNode)
    data.update({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})


def _apply(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    assert isinstance(node, yaml.SequenceNode)
    args = loader.construct_sequence(node, deep=True)
    if suffix == "decimal.Decimal":
        return Decimal(args[0])
    if suffix == "mt940.models.Date":
        raw: bytes = args[0]
        return dt.date(raw[0] * 256 + raw[1], raw[2], raw[3])
    return None


_SafeLoader.add_multi_constructor("tag:yaml.org,2002:python/object:", _object)
_SafeLoader.add_multi_constructor("tag:yaml.org,2002:python/object/apply:", _apply)


def load_mt940_expected(path: Path) -> dict[str, Any]:
    """The dumped ``Transactions`` object as nested dicts."""
    with path.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_SafeLoader)  # noqa: S506
    return loaded


def load_camt_expected(path: Path) -> dict[str, Any]:
    """The genkgo/camt ``Message`` dump."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


GENKGO_BALANCE_TYPES = {
    "opening": ("OPBD", "PRCD"),
    "closing": ("CLBD",),
    "opening_available": ("OPAV",),
    "closing_available": ("CLAV",),
    "forward_available": ("FWAV",),
    "information": ("INFO",),
    "interim_available": ("ITAV",),
    "interim": ("ITBD",),
    "expected_credit": ("XPCD",),
}
"""genkgo's balance type names and the ISO codes they stand for."""

MT940_BALANCES = {
    "final_opening_balance": ("OPBD", False),
    "final_closing_balance": ("CLBD", False),
    "intermediate_opening_balance": ("OPBD", True),
    "intermediate_closing_balance": ("CLBD", True),
    "available_balance": ("CLAV", False),
    "forward_available_balance": ("FWAV", False),
}
"""The ``mt940`` package's balance names as (kind, intermediate) in our frame."""
