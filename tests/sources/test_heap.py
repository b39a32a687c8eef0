"""Giving the C heap's free pages back works where glibc is the libc, and says when not."""

from __future__ import annotations

import platform
import sys

from ledger_audit.sources.heap import release_free_heap


def test_it_trims_on_glibc_and_says_when_it_cannot() -> None:
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert release_free_heap() is glibc
