"""Review and sign-off of a close, bound to the numbers it signs (``signoffs.json``).

A sign-off records who signed (role ``preparer`` or ``reviewer``, name, date) and what: the
SHA-256 of every **data output** of the bundle (``tables/``, ``erp/``, ``checkpoints.json``)
and the chain checkpoints of its manifest. The presentation files (``report.html``, the
workpaper, the executed notebook) are left out on purpose: they show the sign-offs, so they
change when one is added, while the numbers they present are the tables'.

``signoffs.json`` sits in the bundle folder beside ``manifest.json`` and is not listed in it
(signing never changes the evidence). A later close of the same period carries it over
(``close.execute``), and :func:`signoff_status` holds each sign-off against the new bundle's
digests: a sign-off is ``valid`` while every bound digest and checkpoint is the same, and
``stale`` once any changed, naming which (``tables/trial_balance.csv``, say): the numbers
were signed before they changed, so the close needs signing again.

The file is JSON with sorted keys; sign-offs keep the order they were made in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from ledger_audit.errors import InputError
from ledger_audit.exports.atomic import write_text_atomic
from ledger_audit.exports.manifest import BUNDLE_FORMAT, Digest
from ledger_audit.schema.lach1 import Checkpoint

SIGNOFFS = "signoffs.json"
MANIFEST = "manifest.json"
SIGNOFFS_FORMAT = "ledger-audit/signoffs/1"
ROLES = ("preparer", "reviewer")
Role = Literal["preparer", "reviewer"]

PRESENTATION = ("report.html", "report.pdf", "workpaper.xlsx", "month_end_close.ipynb")
"""Outputs a sign-off does not bind (they show the sign-offs; the tables hold the numbers)."""


@dataclass(frozen=True, slots=True)
class SignOff:
    """One sign-off.

    Attributes:
        role: ``preparer`` or ``reviewer``.
        name: who signed.
        signed_on: the day they signed (ISO date).
        period: the period of the close they signed.
        outputs: (output name, SHA-256) of every data output they signed, sorted.
        checkpoints: (ledger_id, seq, head hash) of every chain checkpoint, sorted.
    """

    role: Role
    name: str
    signed_on: str
    period: str
    outputs: tuple[tuple[str, str], ...]
    checkpoints: tuple[tuple[str, int, str], ...]


@dataclass(frozen=True, slots=True)
class SignOffStatus:
    """A sign-off held against a bundle.

    Attributes:
        signoff: the sign-off.
        changed: what differs since it was signed, one phrase each (empty: still valid).
    """

    signoff: SignOff
    changed: tuple[str, ...]

    @property
    def valid(self) -> bool:
        """True when nothing it signed has changed."""
        return not self.changed

    @property
    def state(self) -> str:
        """``valid`` or ``stale``."""
        return "valid" if self.valid else "stale"

    def describe(self) -> str:
        """One line for a reader."""
        s = self.signoff
        head = f"{s.role} {s.name}, signed {s.signed_on}: {self.state}"
        return head if self.valid else f"{head} ({'; '.join(self.changed)})"


def bound_outputs(outputs: Iterable[Digest]) -> tuple[tuple[str, str], ...]:
    """The (name, SHA-256) of the outputs a sign-off binds (all but the presentation)."""
    return tuple(sorted((d.name, d.sha256) for d in outputs if d.name not in PRESENTATION))


def bound_checkpoints(checkpoints: Iterable[Checkpoint]) -> tuple[tuple[str, int, str], ...]:
    """The (ledger_id, seq, head) of the chain checkpoints a sign-off binds."""
    return tuple(sorted((c.ledger_id, c.seq, c.head_hash) for c in checkpoints))


def sign_digests(
    period: str,
    outputs: Iterable[Digest],
    checkpoints: Iterable[Checkpoint],
    *,
    role: str,
    name: str,
    on: dt.date,
) -> SignOff:
    """A sign-off of a bundle's numbers by ``name`` as ``role`` on day ``on``.

    Raises:
        InputError: an unknown role or an empty name.
    """
    if role not in ROLES:
        raise InputError("role", f"expected one of {', '.join(ROLES)}, got {role!r}")
    if not name.strip():
        raise InputError("name", "a sign-off needs the signer's name")
    return SignOff(
        role=cast("Role", role),
        name=" ".join(name.split()),
        signed_on=on.isoformat(),
        period=period,
        outputs=bound_outputs(outputs),
        checkpoints=bound_checkpoints(checkpoints),
    )


def signoff_status(
    signoff: SignOff,
    outputs: Iterable[Digest],
    checkpoints: Iterable[Checkpoint],
) -> SignOffStatus:
    """``signoff`` held against a bundle's data outputs and checkpoints (module docstring)."""
    now = dict(bound_outputs(outputs))
    then = dict(signoff.outputs)
    changed = [
        f"{name} changed (sha256 {then[name][:12]} -> {now[name][:12]})"
        for name in sorted(then.keys() & now.keys())
        if then[name] != now[name]
    ]
    changed += [f"{name} is no longer in the bundle" for name in sorted(then.keys() - now.keys())]
    changed += [f"{name} was not signed" for name in sorted(now.keys() - then.keys())]
    heads = bound_checkpoints(checkpoints)
    if heads != signoff.checkpoints:
        was = ", ".join(f"{lid} seq {seq} {head[:12]}" for lid, seq, head in signoff.checkpoints)
        new = ", ".join(f"{lid} seq {seq} {head[:12]}" for lid, seq, head in heads)
        changed.append(f"chain checkpoint changed ({was or 'none'} -> {new or 'none'})")
    return SignOffStatus(signoff, tuple(changed))


def _signoff_object(signoff: SignOff) -> dict[str, object]:
    return {
        "role": signoff.role,
        "name": signoff.name,
        "signed_on": signoff.signed_on,
        "period": signoff.period,
        "outputs": [{"name": n, "sha256": h} for n, h in signoff.outputs],
        "checkpoints": [
            {"ledger_id": lid, "seq": seq, "head_hash": head}
            for lid, seq, head in signoff.checkpoints
        ],
    }


def write_signoffs(path: Path, signoffs: Sequence[SignOff]) -> Path:
    """Write ``signoffs.json`` (atomically) and return its path."""
    body = {"format": SIGNOFFS_FORMAT, "signoffs": [_signoff_object(s) for s in signoffs]}
    return write_text_atomic(path, json.dumps(body, indent=2, sort_keys=True) + "\n")


def _json(path: Path, what: str) -> dict[str, object]:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(str(path), f"cannot read {what}: {exc}") from exc
    if not isinstance(body, dict):
        raise InputError(str(path), f"is not {what}")
    return body


def read_signoffs(path: Path) -> tuple[SignOff, ...]:
    """The sign-offs recorded in ``path``; none when the file does not exist.

    Raises:
        InputError: the file is not a sign-off file of this format.
    """
    if not path.is_file():
        return ()
    body = _json(path, "the sign-offs")
    if body.get("format") != SIGNOFFS_FORMAT:
        raise InputError(str(path), f"is not a {SIGNOFFS_FORMAT} file")
    try:
        return tuple(_signoff(s) for s in cast("list[dict[str, Any]]", body["signoffs"]))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(str(path), f"a sign-off lacks a field or has a bad one: {exc}") from exc


def _signoff(s: dict[str, Any]) -> SignOff:
    role = str(s["role"])
    if role not in ROLES:
        raise ValueError(f"role {role!r}")
    return SignOff(
        role=cast("Role", role),
        name=str(s["name"]),
        signed_on=str(s["signed_on"]),
        period=str(s["period"]),
        outputs=tuple((str(o["name"]), str(o["sha256"])) for o in s["outputs"]),
        checkpoints=tuple(
            (str(c["ledger_id"]), int(c["seq"]), str(c["head_hash"])) for c in s["checkpoints"]
        ),
    )


def read_binding(manifest: Path) -> tuple[str, tuple[Digest, ...], tuple[Checkpoint, ...]]:
    """The period, output digests and chain checkpoints of a bundle's ``manifest.json``.

    Raises:
        InputError: the file is not an evidence-bundle manifest.
    """
    body = _json(manifest, "the manifest")
    if body.get("format") != BUNDLE_FORMAT:
        raise InputError(str(manifest), f"is not a {BUNDLE_FORMAT} manifest")
    try:
        outputs = tuple(
            Digest(
                name=str(o["name"]), kind=o["kind"], sha256=str(o["sha256"]), size=int(o["size"])
            )
            for o in cast("list[dict[str, Any]]", body["outputs"])
        )
        checkpoints = tuple(
            Checkpoint(str(c["ledger_id"]), int(c["seq"]), str(c["head_hash"]), int(c["row_count"]))
            for c in cast("list[dict[str, Any]]", body["checkpoints"])
        )
        period = str(cast("dict[str, Any]", body["parameters"]).get("period", "-"))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(str(manifest), f"a manifest field is missing or bad: {exc}") from exc
    return period, outputs, checkpoints


def sign_bundle(folder: Path, *, role: str, name: str, on: dt.date) -> SignOffStatus:
    """Record a sign-off of the bundle in ``folder`` (appended to its ``signoffs.json``).

    Raises:
        InputError: no bundle manifest in ``folder``, a bad role or name, or an unreadable
            ``signoffs.json``.
    """
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise InputError(str(folder), f"is not an evidence bundle: no {MANIFEST}")
    period, outputs, checkpoints = read_binding(manifest)
    signoff = sign_digests(period, outputs, checkpoints, role=role, name=name, on=on)
    earlier = read_signoffs(folder / SIGNOFFS)
    write_signoffs(folder / SIGNOFFS, (*earlier, signoff))
    return signoff_status(signoff, outputs, checkpoints)
