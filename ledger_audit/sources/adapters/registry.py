"""The adapters ``--adapter NAME`` knows, each imported only when it is used.

An adapter module exposes ``check(source)`` (is the source this vendor's layout? raises
InputError naming the adapter, the table and what was expected; reads no row) and
``load(source) -> Adapted``. Listing the registry imports none of them, so ``--help`` and an
unknown name stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, cast

from ledger_audit.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from ledger_audit.sources.adapters.adapted import (
        Adapted,
        CheckFunction,
        FramesOnlyLoad,
        LoadFunction,
    )


@dataclass(frozen=True, slots=True)
class Adapter:
    """One vendor adapter.

    Attributes:
        name: what ``--adapter`` takes.
        title: the vendor and the version of its layout the adapter reads.
        source: the source form it reads, in words (for ``--help`` and docs/adapters.md).
        module: the module that implements ``check`` and ``load``.
        frames_only: its ``load`` takes ``vendor_checks=False``: the same frames without
            reading what only the vendor's own checks need (their results then say so).
    """

    name: str
    title: str
    source: str
    module: str
    frames_only: bool = False

    def check(self, source: str | Path) -> None:
        """Raise InputError unless ``source`` has this vendor's layout (reads no row)."""
        function = cast("CheckFunction", import_module(self.module).check)
        function(source)

    def load(self, source: str | Path, *, vendor_checks: bool = True) -> Adapted:
        """Read ``source`` read-only into canonical frames and the vendor's own checks.

        ``vendor_checks=False``: a command that reads only the frames (``jet``,
        ``reconcile``, ``flux``) lets an adapter that can skip the rest do so; the others
        run their checks anyway, which changes no frame.
        """
        if self.frames_only and not vendor_checks:
            framed = cast("FramesOnlyLoad", import_module(self.module).load)
            return framed(source, vendor_checks=False)
        function = cast("LoadFunction", import_module(self.module).load)
        return function(source)


ADAPTERS: tuple[Adapter, ...] = (
    # one Adapter(...) per vendor, sorted by name
    Adapter("beancount", "Beancount 3", ".beancount", "ledger_audit.sources.adapters.beancount"),
    Adapter("blnk", "Blnk (schema blnk)", "PostgreSQL", "ledger_audit.sources.adapters.blnk"),
    Adapter(
        "formance",
        "Formance Ledger v2 (bucket migrations 0-53)",
        "PostgreSQL",
        "ledger_audit.sources.adapters.formance",
        frames_only=True,
    ),
    Adapter("hledger", "hledger 1.25", "a journal", "ledger_audit.sources.adapters.hledger"),
    Adapter("midaz", "Midaz (transaction DB)", "PostgreSQL", "ledger_audit.sources.adapters.midaz"),
    Adapter(
        "modern-treasury",
        "Modern Treasury Ledgers (API list endpoints, SDK 1.x models)",
        "a folder of list-endpoint JSON (ledgers, ledger_accounts, ledger_transactions, "
        "versions, statements)",
        "ledger_audit.sources.adapters.modern_treasury",
    ),
    Adapter(
        "pgledger",
        "pgledger.sql",
        "PostgreSQL",
        "ledger_audit.sources.adapters.pgledger",
        frames_only=True,
    ),
    Adapter(
        "tigerbeetle",
        "TigerBeetle 0.16 (accounts and transfers exported)",
        "a folder of accounts and transfers (.jsonl or .csv) with ledgers.toml",
        "ledger_audit.sources.adapters.tigerbeetle",
    ),
)
"""Every adapter, by name (docs/adapters.md lists what each proves and cannot)."""


def adapter_names() -> tuple[str, ...]:
    """The names ``--adapter`` accepts, sorted."""
    return tuple(sorted(adapter.name for adapter in ADAPTERS))


def adapter_named(name: str) -> Adapter:
    """The adapter called ``name``; an unknown name is an InputError listing the known ones."""
    for adapter in ADAPTERS:
        if adapter.name == name:
            return adapter
    known = ", ".join(adapter_names()) or "none"
    raise InputError("--adapter", f"unknown adapter {name!r}; known adapters: {known}")
