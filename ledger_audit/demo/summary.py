"""What a demo build wrote: counts read back from the ledger, and their text and JSON forms.

Amounts stay exact integers of minor units per asset; they become text only through
``ledger_audit.money.format_amount``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from ledger_audit.demo.statements import StatementSet
from ledger_audit.money import format_amount
from ledger_audit.schema.tables import accounts, entries, same_version, transactions


@dataclass(frozen=True, slots=True)
class KindStatusCount:
    """How many transaction versions have this kind and status."""

    kind: str
    status: str
    versions: int


@dataclass(frozen=True, slots=True)
class AssetVolume:
    """Per asset: entry rows (all versions) and posted volume (debit legs of posted versions)."""

    asset_id: str
    entries: int
    posted_volume: int

    @property
    def posted_volume_text(self) -> str:
        """The posted volume at the asset's full scale, e.g. ``1234.50 USD``."""
        return format_amount(self.posted_volume, self.asset_id)


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    """What the ledger holds, read back from its canonical tables.

    Attributes:
        accounts: accounts opened.
        transactions: distinct transaction ids.
        versions: transaction version rows.
        by_kind_status: version counts per (kind, status), sorted.
        assets: entry counts and posted volume per asset, sorted by asset id.
        chain_seq: the last chain position present.
        chain_head_hash: that row's chain hash.
    """

    accounts: int
    transactions: int
    versions: int
    by_kind_status: tuple[KindStatusCount, ...]
    assets: tuple[AssetVolume, ...]
    chain_seq: int
    chain_head_hash: str


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """The result of one demo build.

    Attributes:
        out_dir: the output directory.
        ledger_path: the SQLite ledger file.
        answer_key_path: ``answer_key.json``.
        demo_json_path: ``demo.json`` (parameters, counts, chain head).
        ledger_id: the demo ledger's id.
        seed: the seed every choice derives from.
        transactions: top-level transactions posted in the month (the ``--transactions`` N).
        month: ``YYYY-MM``.
        clean: True when no anomaly was planted.
        users: simulated users (each with a USD and an EUR wallet).
        events: what the scenario generated, per event label, sorted.
        ledger: counts read back from the ledger after planting.
        planted: the rule ids of the planted anomalies, in answer-key order.
        writer_rejections: requests the reference writer refused (0 for a sound scenario).
        client_retries: requests the scenario resubmitted under the same key.
        replays: results the writer marked ``replayed`` (equals ``client_retries``).
        statements: the bank statements, processor report, truth and reconciliation key
            written beside the ledger (None when none were written).
    """

    out_dir: Path
    ledger_path: Path
    answer_key_path: Path
    demo_json_path: Path
    ledger_id: str
    seed: int
    transactions: int
    month: str
    clean: bool
    users: int
    events: tuple[tuple[str, int], ...]
    ledger: LedgerCounts
    planted: tuple[str, ...]
    writer_rejections: int
    client_retries: int
    replays: int
    statements: StatementSet | None = None

    def to_json(self) -> dict[str, object]:
        """The content of ``demo.json``: no absolute paths, so reruns compare equal."""
        return {
            "ledger_id": self.ledger_id,
            "files": {
                "ledger": self.ledger_path.name,
                "answer_key": self.answer_key_path.name,
            },
            "parameters": {
                "seed": self.seed,
                "transactions": self.transactions,
                "month": self.month,
                "clean": self.clean,
            },
            "users": self.users,
            "events": dict(self.events),
            "counts": {
                "accounts": self.ledger.accounts,
                "transactions": self.ledger.transactions,
                "versions": self.ledger.versions,
                "by_kind_status": [
                    {"kind": c.kind, "status": c.status, "versions": c.versions}
                    for c in self.ledger.by_kind_status
                ],
                "assets": [
                    {
                        "asset_id": a.asset_id,
                        "entries": a.entries,
                        "posted_volume": a.posted_volume,
                        "posted_volume_text": a.posted_volume_text,
                    }
                    for a in self.ledger.assets
                ],
            },
            "chain_head": {"seq": self.ledger.chain_seq, "hash": self.ledger.chain_head_hash},
            "planted": {"count": len(self.planted), "rules": list(self.planted)},
            "writer": {
                "rejections": self.writer_rejections,
                "client_retries": self.client_retries,
                "replays": self.replays,
            },
            **self._statements_json(),
        }

    def _statements_json(self) -> dict[str, object]:
        found = self.statements
        if found is None:
            return {}
        root = self.out_dir
        return {
            "statements": {
                "files": [p.relative_to(root).as_posix() for p in found.statements],
                "processor_report": found.processor_report.relative_to(root).as_posix(),
                "truth": found.truth_path.relative_to(root).as_posix(),
                "recon_answer_key": found.recon_key_path.relative_to(root).as_posix(),
                "lines": dict(found.lines),
                "planted": {
                    "count": len(found.anomalies),
                    "rules": [a.rule.value for a in found.anomalies],
                },
            }
        }


def read_ledger_counts(engine: sa.Engine, ledger_id: str) -> LedgerCounts:
    """Count what the ledger holds (plain aggregate queries over the canonical tables)."""
    tx, en = transactions, entries
    with engine.connect() as conn:
        account_count = conn.execute(
            sa.select(sa.func.count())
            .select_from(accounts)
            .where(accounts.c.ledger_id == ledger_id)
        ).scalar_one()
        tx_count, version_count = conn.execute(
            sa.select(sa.func.count(sa.distinct(tx.c.transaction_id)), sa.func.count()).where(
                tx.c.ledger_id == ledger_id
            )
        ).one()
        by_kind = tuple(
            KindStatusCount(str(row.kind), str(row.status), int(row.n))
            for row in conn.execute(
                sa.select(tx.c.kind, tx.c.status, sa.func.count().label("n"))
                .where(tx.c.ledger_id == ledger_id)
                .group_by(tx.c.kind, tx.c.status)
                .order_by(tx.c.kind, tx.c.status)
            )
        )
        entry_counts: dict[str, int] = {
            str(row[0]): int(row[1])
            for row in conn.execute(
                sa.select(en.c.asset_id, sa.func.count())
                .where(en.c.ledger_id == ledger_id)
                .group_by(en.c.asset_id)
            )
        }
        volumes: dict[str, int] = {
            str(row[0]): int(row[1] or 0)
            for row in conn.execute(
                sa.select(en.c.asset_id, sa.func.sum(en.c.amount))
                .join(tx, same_version(tx, en))
                .where(
                    en.c.ledger_id == ledger_id,
                    tx.c.status == "posted",
                    en.c.direction == "debit",
                )
                .group_by(en.c.asset_id)
            )
        }
        head = conn.execute(
            sa.select(tx.c.chain_seq, tx.c.chain_hash)
            .where(tx.c.ledger_id == ledger_id, tx.c.chain_seq.is_not(None))
            .order_by(tx.c.chain_seq.desc())
            .limit(1)
        ).first()
    return LedgerCounts(
        accounts=int(account_count),
        transactions=int(tx_count),
        versions=int(version_count),
        by_kind_status=by_kind,
        assets=tuple(
            AssetVolume(asset, count, volumes.get(asset, 0))
            for asset, count in sorted(entry_counts.items())
        ),
        chain_seq=int(head.chain_seq) if head is not None else 0,
        chain_head_hash=str(head.chain_hash) if head is not None else "",
    )


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: tuple[str, ...]) -> str:
        parts = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  " + "  ".join(parts).rstrip()

    return [line(headers), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)]


def render_text(summary: DemoSummary) -> str:
    """The summary as a plain-text report (what ``ledger-audit demo`` prints)."""
    led = summary.ledger
    mode = (
        "clean (nothing planted)" if summary.clean else f"{len(summary.planted)} anomalies planted"
    )
    lines = [
        f"Demo ledger {summary.ledger_id!r} written to {summary.ledger_path}",
        (
            f"  month {summary.month}, seed {summary.seed}, {summary.transactions} transactions, "
            f"{summary.users} users, {mode}"
        ),
        f"  {led.accounts} accounts, {led.transactions} transactions, {led.versions} versions",
        f"  chain head: seq {led.chain_seq} hash {led.chain_head_hash}",
        (
            f"  writer: {summary.writer_rejections} rejections, "
            f"{summary.client_retries} client retries, {summary.replays} replays"
        ),
        f"  answer key: {summary.answer_key_path}",
        f"  parameters and counts: {summary.demo_json_path}",
        "",
        "Scenario events",
        *_table(("event", "count"), [(k, str(v)) for k, v in summary.events], {1}),
        "",
        "Versions by kind and status",
        *_table(
            ("kind", "status", "versions"),
            [(c.kind, c.status, str(c.versions)) for c in led.by_kind_status],
            {2},
        ),
        "",
        "Entries and posted volume by asset",
        *_table(
            ("asset", "entries", "posted volume"),
            [(a.asset_id, str(a.entries), a.posted_volume_text) for a in led.assets],
            {1, 2},
        ),
    ]
    if summary.planted:
        lines += ["", "Planted anomalies (rule ids)", *(f"  {rule}" for rule in summary.planted)]
    found = summary.statements
    if found is not None:
        lines += [
            "",
            "Bank statements and processor report",
            *(f"  {path}" for path in dict.fromkeys((*found.statements, found.processor_report))),
            "  lines: "
            + ", ".join(f"{count} {currency.upper()}" for currency, count in found.lines),
            f"  truth: {found.truth_path}",
            f"  reconciliation answer key: {found.recon_key_path}",
        ]
        if found.anomalies:
            lines += [
                "",
                "Planted reconciliation breaks (rule ids)",
                *(f"  {a.rule}" for a in found.anomalies),
            ]
    return "\n".join(lines) + "\n"
