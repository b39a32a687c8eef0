"""The reference write path: validate, deduplicate, seal and append, all or nothing per request.

A request is checked against the ledger as it stands under the chain-head lock, so the
checks and the append see the same state even with many concurrent writers. Requests in
one ``submit_many`` call share one database transaction; each is accepted or rejected on
its own, and a rejected request writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, MutableMapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa

from ledger_audit.errors import PostRejected
from ledger_audit.ledger.admin import CLOSED_THROUGH_KEY
from ledger_audit.ledger.effects import BalanceCells, BalanceKey, version_delta
from ledger_audit.ledger.log_delta import chunks, read_legs
from ledger_audit.ledger.requests import (
    EntrySpec,
    PostPending,
    PostResult,
    PostTransaction,
    Request,
    ReverseTransaction,
    VoidPending,
    derived_transaction_id,
)
from ledger_audit.ledger.sealing import (
    ChainHead,
    NewVersion,
    SealedRow,
    append_versions,
    lock_head,
)
from ledger_audit.schema.tables import (
    accounts,
    assets,
    entries,
    idempotency_keys,
    ledgers,
    same_version,
    transactions,
)

MAX_AMOUNT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the checks read of an account."""

    normal_balance: str
    asset_id: str | None
    allow_negative: bool
    closed_ns: int | None


@dataclass(slots=True)
class TxState:
    """The latest version of a transaction as the batch knows it."""

    version: int
    kind: str
    status: str
    external_id: str | None
    entries: tuple[EntrySpec, ...]
    reversed_by: str | None = None


@dataclass(slots=True)
class BatchState:
    """What one database transaction knows about the ledger, loaded under the lock.

    ``txs`` and ``idem`` need only hold what the batch's requests refer to; the planner
    updates ``txs`` as it accepts requests. ``assets`` must hold every registered asset
    that the requests' legs, or the stored legs of the transactions they name, refer to.
    """

    assets: AbstractSet[str]
    accounts: Mapping[str, AccountState]
    closed_through_ns: int | None
    txs: MutableMapping[str, TxState | None]
    idem: Mapping[str, tuple[str, PostResult]]


@dataclass(slots=True)
class BatchPlan:
    """What a batch decided before anything is written.

    Attributes:
        outcomes: one per request; None where a sealed result will be filled in.
        accepted: (slot, version to seal, request hash, request) in request order.
        replays: (slot of a replay, slot of the request in this batch it repeats).
        staged: the balance change of the accepted versions.
    """

    outcomes: list[PostResult | PostRejected | None]
    accepted: list[tuple[int, NewVersion, str, Request]]
    replays: list[tuple[int, int]]
    staged: dict[BalanceKey, BalanceCells]


def _plain(value: object) -> object:
    """Records and tuples as JSON-ready dicts and lists (``asdict`` without its deep copies)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    names = getattr(value, "__dataclass_fields__", None)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    return value


def closed_through(metadata_json: str | None) -> int | None:
    """The ledger's closed-through instant from its ``metadata`` column (None: nothing closed)."""
    meta = json.loads(metadata_json) if metadata_json else {}
    closed = meta.get(CLOSED_THROUGH_KEY)
    return closed if isinstance(closed, int) else None


def request_hash(request: Request) -> str:
    """A stable digest of everything the client asked for (its type included).

    The digest of ``json.dumps`` (sorted keys, default separators) of the request as plain
    data; requests whose fields have their declared types take a direct path to the same
    text (a property test holds the two equal), any other value the generic one.
    """
    try:
        text = _request_json(request)
    except _Unusual:
        text = _generic_request_json(request)
    return hashlib.sha256(text.encode()).hexdigest()


def _generic_request_json(request: Request) -> str:
    body = cast("dict[str, object]", _plain(request))  # a request is always a record
    body["type"] = type(request).__name__
    return json.dumps(body, sort_keys=True)


class _Unusual(Exception):
    """A field that is not of its declared type: leave it to ``json.dumps``."""


_json_str = json.encoder.encode_basestring_ascii  # what json.dumps uses with ensure_ascii


def _str(value: object) -> str:
    if type(value) is not str:
        raise _Unusual
    return _json_str(value)


def _opt_str(value: object) -> str:
    return "null" if value is None else _str(value)


def _opt_int(value: object) -> str:
    if value is None:
        return "null"
    if type(value) is not int:
        raise _Unusual
    return str(value)


def _legs_json(legs: object) -> str:
    if type(legs) is not tuple:
        raise _Unusual
    parts = []
    for leg in legs:
        if type(leg) is not EntrySpec or type(leg.amount) is not int:
            raise _Unusual
        parts.append(
            f'{{"account_id": {_str(leg.account_id)}, "amount": {leg.amount}, '
            f'"asset_id": {_str(leg.asset_id)}, "direction": {_str(leg.direction)}}}'
        )
    return "[" + ", ".join(parts) + "]"


def _pairs_json(pairs: object) -> str:
    if type(pairs) is not tuple:
        raise _Unusual
    parts = []
    for pair in pairs:
        if type(pair) is not tuple or len(pair) != 2:  # noqa: PLR2004 - a key and a value
            raise _Unusual
        parts.append(f"[{_str(pair[0])}, {_str(pair[1])}]")
    return "[" + ", ".join(parts) + "]"


def _request_json(request: Request) -> str:
    """``_generic_request_json`` for requests of exactly the declared field types."""
    kind = type(request)
    if kind is PostTransaction:
        post = cast("PostTransaction", request)
        if type(post.pending) is not bool:
            raise _Unusual
        return (
            f'{{"description": {_str(post.description)}, '
            f'"effective_ns": {_opt_int(post.effective_ns)}, '
            f'"entries": {_legs_json(post.entries)}, '
            f'"external_id": {_opt_str(post.external_id)}, '
            f'"idempotency_key": {_str(post.idempotency_key)}, "kind": {_str(post.kind)}, '
            f'"metadata": {_pairs_json(post.metadata)}, '
            f'"pending": {"true" if post.pending else "false"}, '
            f'"transaction_id": {_opt_str(post.transaction_id)}, "type": "PostTransaction"}}'
        )
    if kind is PostPending:
        capture = cast("PostPending", request)
        legs = "null" if capture.entries is None else _legs_json(capture.entries)
        return (
            f'{{"description": {_str(capture.description)}, '
            f'"effective_ns": {_opt_int(capture.effective_ns)}, "entries": {legs}, '
            f'"idempotency_key": {_str(capture.idempotency_key)}, '
            f'"transaction_id": {_str(capture.transaction_id)}, "type": "PostPending"}}'
        )
    if kind is VoidPending:
        void = cast("VoidPending", request)
        return (
            f'{{"description": {_str(void.description)}, '
            f'"effective_ns": {_opt_int(void.effective_ns)}, '
            f'"idempotency_key": {_str(void.idempotency_key)}, '
            f'"transaction_id": {_str(void.transaction_id)}, "type": "VoidPending"}}'
        )
    if kind is ReverseTransaction:
        reverse = cast("ReverseTransaction", request)
        return (
            f'{{"description": {_str(reverse.description)}, '
            f'"effective_ns": {_opt_int(reverse.effective_ns)}, '
            f'"idempotency_key": {_str(reverse.idempotency_key)}, '
            f'"reversal_transaction_id": {_opt_str(reverse.reversal_transaction_id)}, '
            f'"transaction_id": {_str(reverse.transaction_id)}, "type": "ReverseTransaction"}}'
        )
    raise _Unusual


class LedgerWriter:
    """Posts to one ledger. Thread-safe in the sense that each call uses its own connection."""

    def __init__(
        self, engine: sa.Engine, ledger_id: str, *, clock: Callable[[], int] = time.time_ns
    ) -> None:
        self.engine = engine
        self.ledger_id = ledger_id
        self.clock = clock
        # Balances of no-negative accounts, valid while the chain head is where we left it.
        self._balances: dict[BalanceKey, BalanceCells] = {}
        self._balances_seq = -1
        self._assets: set[str] = set()

    # --- public API -------------------------------------------------------------------

    def submit(self, request: Request) -> PostResult:
        """Apply one request; raise :class:`PostRejected` (nothing written) if it is refused."""
        (outcome,) = self.submit_many([request])
        if isinstance(outcome, PostRejected):
            raise outcome
        return outcome

    def submit_many(self, requests: Sequence[Request]) -> list[PostResult | PostRejected]:
        """Apply requests in order in one database transaction; each succeeds or fails alone."""
        if not requests:
            return []
        try:
            with self.engine.begin() as conn:
                return self._submit_locked(conn, requests)
        except BaseException:
            self._balances.clear()
            self._balances_seq = -1
            raise

    # --- the locked section -----------------------------------------------------------

    def _submit_locked(
        self, conn: sa.Connection, requests: Sequence[Request]
    ) -> list[PostResult | PostRejected]:
        head = lock_head(conn, self.ledger_id)
        self._catch_up(conn, head.seq)
        batch = self._load(conn, requests)
        self._load_balances(conn, self._guarded_keys(batch, requests))

        def balances_of(keys: Iterable[BalanceKey]) -> Mapping[BalanceKey, BalanceCells]:
            self._load_balances(conn, keys)
            return self._balances

        plan = RequestPlanner(self.ledger_id).plan_batch(batch, requests, balances_of)
        self._seal(conn, head, plan)
        return [o if o is not None else _missing() for o in plan.outcomes]

    def _seal(self, conn: sa.Connection, head: ChainHead, plan: BatchPlan) -> None:
        """Append the accepted versions, fill in their results and record their keys."""
        new_head, sealed = append_versions(
            conn, self.ledger_id, head, [v for _, v, _, _ in plan.accepted], self.clock
        )
        key_rows = settle(self.ledger_id, plan, sealed)
        if key_rows:
            conn.execute(idempotency_keys.insert(), key_rows)
        for bkey, cells in plan.staged.items():
            if bkey in self._balances:
                _add(self._balances[bkey], cells)
        self._balances_seq = new_head.seq

    def _catch_up(self, conn: sa.Connection, head_seq: int) -> None:
        """Fold what other writers appended since our last look into the cached balances."""
        if head_seq == self._balances_seq or not self._balances:
            self._balances_seq = head_seq
            return
        if self._balances_seq < 0 or head_seq < self._balances_seq:
            self._balances.clear()
        else:
            for key, cells in self._appended_delta(conn, self._balances_seq, head_seq).items():
                if key in self._balances:
                    _add(self._balances[key], cells)
        self._balances_seq = head_seq

    def _appended_delta(
        self, conn: sa.Connection, low: int, high: int
    ) -> dict[BalanceKey, BalanceCells]:
        """Balance change made by the versions sealed at seq in (low, high] (a short span)."""
        appended = conn.execute(
            sa.select(transactions.c.transaction_id, transactions.c.version, transactions.c.status)
            .where(
                transactions.c.ledger_id == self.ledger_id,
                transactions.c.chain_seq > low,
                transactions.c.chain_seq <= high,
            )
            .order_by(transactions.c.chain_seq)
        ).all()
        tx_ids = sorted({row.transaction_id for row in appended})
        status: dict[tuple[str, int], str] = {}
        for chunk in chunks(tx_ids):
            for row in conn.execute(
                sa.select(
                    transactions.c.transaction_id, transactions.c.version, transactions.c.status
                ).where(
                    transactions.c.ledger_id == self.ledger_id,
                    transactions.c.transaction_id.in_(chunk),
                )
            ):
                status[(row.transaction_id, int(row.version))] = row.status
        legs = read_legs(conn, self.ledger_id, tx_ids)
        total: dict[BalanceKey, BalanceCells] = {}
        for row in appended:
            key = (row.transaction_id, int(row.version))
            before = (row.transaction_id, key[1] - 1)
            previous = (status[before], legs.get(before, [])) if before in status else None
            for bkey, cells in version_delta(row.status, legs.get(key, []), previous).items():
                _add(total.setdefault(bkey, BalanceCells()), cells)
        return total

    # --- loading state ----------------------------------------------------------------

    def _load(self, conn: sa.Connection, requests: Sequence[Request]) -> BatchState:
        account_ids: set[str] = set()
        tx_ids: set[str] = set()
        for request in requests:
            if isinstance(request, PostTransaction):
                account_ids.update(e.account_id for e in request.entries)
                tx_ids.add(
                    request.transaction_id
                    or derived_transaction_id(self.ledger_id, request.idempotency_key)
                )
            else:
                tx_ids.add(request.transaction_id)
                if isinstance(request, ReverseTransaction):
                    tx_ids.add(
                        request.reversal_transaction_id
                        or derived_transaction_id(self.ledger_id, request.idempotency_key)
                    )
        txs = self._load_transactions(conn, sorted(tx_ids))
        for state in txs.values():
            if state is not None:
                account_ids.update(e.account_id for e in state.entries)
        meta_raw = conn.execute(
            sa.select(ledgers.c.metadata).where(ledgers.c.ledger_id == self.ledger_id)
        ).scalar_one_or_none()
        return BatchState(
            assets=self._known_assets(conn, requests, txs),
            accounts=self._load_accounts(conn, sorted(account_ids)),
            closed_through_ns=closed_through(meta_raw),
            txs=txs,
            idem=self._load_idempotency(conn, sorted({r.idempotency_key for r in requests})),
        )

    def _guarded_keys(self, batch: BatchState, requests: Sequence[Request]) -> set[BalanceKey]:
        """Account x asset pairs of no-negative accounts that this batch may touch."""
        legs: list[EntrySpec] = []
        for request in requests:
            if isinstance(request, PostTransaction):
                legs.extend(request.entries)
            else:
                state = batch.txs.get(request.transaction_id)
                if state is not None:
                    legs.extend(state.entries)
        return {
            (leg.account_id, leg.asset_id)
            for leg in legs
            if (account := batch.accounts.get(leg.account_id)) is not None
            and not account.allow_negative
        }

    def _known_assets(
        self,
        conn: sa.Connection,
        requests: Sequence[Request],
        txs: Mapping[str, TxState | None],
    ) -> set[str]:
        """Registered assets; assets are never removed, so re-read only on an unknown id.

        The planner checks the assets of the requests' legs and of the stored legs of the
        transactions they name: a full capture or a reversal names no leg and is checked
        on its original's, which this writer may never have read (a fresh writer has read
        no asset yet, and another may have registered one since).
        """
        wanted = {
            e.asset_id
            for r in requests
            if isinstance(r, PostTransaction | PostPending) and r.entries
            for e in r.entries
        }
        wanted.update(
            e.asset_id for state in txs.values() if state is not None for e in state.entries
        )
        if not wanted <= self._assets:
            self._assets = set(conn.execute(sa.select(assets.c.asset_id)).scalars())
        return self._assets

    def _load_accounts(self, conn: sa.Connection, ids: Sequence[str]) -> dict[str, AccountState]:
        found: dict[str, AccountState] = {}
        for chunk in chunks(ids):
            for row in conn.execute(
                sa.select(
                    accounts.c.account_id,
                    accounts.c.normal_balance,
                    accounts.c.asset_id,
                    accounts.c.allow_negative,
                    accounts.c.closed_ns,
                ).where(accounts.c.ledger_id == self.ledger_id, accounts.c.account_id.in_(chunk))
            ):
                found[row.account_id] = AccountState(
                    row.normal_balance, row.asset_id, bool(row.allow_negative), row.closed_ns
                )
        return found

    def _load_idempotency(
        self, conn: sa.Connection, keys: Sequence[str]
    ) -> dict[str, tuple[str, PostResult]]:
        found: dict[str, tuple[str, PostResult]] = {}
        for chunk in chunks(keys):
            query = (
                sa.select(
                    idempotency_keys.c.idempotency_key,
                    idempotency_keys.c.request_hash,
                    transactions.c.transaction_id,
                    transactions.c.version,
                    transactions.c.status,
                    transactions.c.chain_seq,
                    transactions.c.chain_hash,
                    transactions.c.recorded_ns,
                )
                .join(transactions, same_version(transactions, idempotency_keys))
                .where(
                    idempotency_keys.c.ledger_id == self.ledger_id,
                    idempotency_keys.c.idempotency_key.in_(chunk),
                )
            )
            for row in conn.execute(query):
                found[row.idempotency_key] = (
                    row.request_hash,
                    PostResult(
                        row.transaction_id,
                        int(row.version),
                        row.status,
                        int(row.chain_seq),
                        row.chain_hash,
                        int(row.recorded_ns),
                        replayed=True,
                    ),
                )
        return found

    def _load_transactions(
        self, conn: sa.Connection, ids: Sequence[str]
    ) -> dict[str, TxState | None]:
        """Latest version, its entries and any reversal of each referenced transaction."""
        found: dict[str, TxState | None] = dict.fromkeys(ids)
        for chunk in chunks(ids):
            newest: dict[str, Any] = {}
            for row in conn.execute(
                sa.select(
                    transactions.c.transaction_id,
                    transactions.c.version,
                    transactions.c.kind,
                    transactions.c.status,
                    transactions.c.external_id,
                ).where(
                    transactions.c.ledger_id == self.ledger_id,
                    transactions.c.transaction_id.in_(chunk),
                )
            ):
                seen = newest.get(row.transaction_id)
                if seen is None or int(row.version) > int(seen.version):
                    newest[row.transaction_id] = row
            rows = list(newest.values())
            if not rows:  # new transactions (every plain post): nothing more to look up
                continue
            latest_version = {row.transaction_id: int(row.version) for row in rows}
            legs = {
                key: value
                for key, value in read_legs(conn, self.ledger_id, sorted(latest_version)).items()
                if latest_version[key[0]] == key[1]
            }
            for row in rows:
                found[row.transaction_id] = TxState(
                    version=int(row.version),
                    kind=row.kind,
                    status=row.status,
                    external_id=row.external_id,
                    entries=tuple(legs.get((row.transaction_id, int(row.version)), ())),
                )
            for rev in conn.execute(
                sa.select(
                    transactions.c.reverses_transaction_id, transactions.c.transaction_id
                ).where(
                    transactions.c.ledger_id == self.ledger_id,
                    transactions.c.reverses_transaction_id.in_(chunk),
                )
            ):
                state = found.get(rev.reverses_transaction_id)
                if state is not None:
                    state.reversed_by = rev.transaction_id
        return found

    def _load_balances(self, conn: sa.Connection, keys: Iterable[BalanceKey]) -> None:
        """Replay the log for these account x asset pairs (only no-negative accounts come here)."""
        missing = sorted({k for k in keys if k not in self._balances})
        if not missing:
            return
        for key in missing:
            self._balances[key] = BalanceCells()
        newer = transactions.alias("newer")
        for chunk in chunks(sorted({account for account, _ in missing})):
            query = (
                sa.select(
                    entries.c.account_id,
                    entries.c.asset_id,
                    transactions.c.status,
                    entries.c.direction,
                    sa.func.sum(entries.c.amount).label("total"),
                )
                .join(transactions, same_version(transactions, entries))
                .where(
                    entries.c.ledger_id == self.ledger_id,
                    entries.c.account_id.in_(chunk),
                    transactions.c.status.in_(("posted", "pending")),
                    ~sa.exists().where(
                        newer.c.ledger_id == transactions.c.ledger_id,
                        newer.c.transaction_id == transactions.c.transaction_id,
                        newer.c.version > transactions.c.version,
                    ),
                )
                .group_by(
                    entries.c.account_id,
                    entries.c.asset_id,
                    transactions.c.status,
                    entries.c.direction,
                )
            )
            for row in conn.execute(query):
                cells = self._balances.get((row.account_id, row.asset_id))
                if cells is not None:
                    cells.apply(row.status, row.direction, int(row.total))


BalancesOf = Callable[[Iterable[BalanceKey]], Mapping[BalanceKey, BalanceCells]]
"""Gives the stored balances of (at least) these account x asset pairs, before the batch."""


class RequestPlanner:
    """The write path's rules, apart from the database: what a batch of requests would write.

    Pure given a :class:`BatchState` and the stored balances: the reference writer and the
    bulk writer (:mod:`ledger_audit.ledger.bulk`) both decide through it, so they cannot
    disagree about which request is accepted, replayed or refused, and why.
    """

    def __init__(self, ledger_id: str) -> None:
        self.ledger_id = ledger_id

    def plan_batch(
        self,
        batch: BatchState,
        requests: Sequence[Request],
        balances_of: BalancesOf,
        digests: Sequence[str] | None = None,
    ) -> BatchPlan:
        """Decide every request in order; ``batch.txs`` ends up holding the accepted state.

        ``digests``, when given, are the requests' :func:`request_hash` values computed
        elsewhere (the bulk writer's feed hashes them in its child process); they must be
        exactly those values.
        """
        if digests is not None and len(digests) != len(requests):
            raise ValueError(f"{len(digests)} request digests for {len(requests)} requests")
        outcomes: list[PostResult | PostRejected | None] = []
        accepted: list[tuple[int, NewVersion, str, Request]] = []
        replays: list[tuple[int, int]] = []  # (slot of a replay, slot of the request it repeats)
        in_batch: dict[str, tuple[str, int]] = {}
        staged: dict[BalanceKey, BalanceCells] = {}
        for slot, request in enumerate(requests):
            digest = request_hash(request) if digests is None else digests[slot]
            key = request.idempotency_key
            first = batch.idem.get(key)
            earlier = in_batch.get(key)
            known_digest = first[0] if first else earlier[0] if earlier else None
            if known_digest is not None and known_digest != digest:
                where = first[1].transaction_id if first else "a request earlier in this batch"
                outcomes.append(
                    PostRejected(
                        "idempotency_conflict",
                        f"idempotency key {key!r} was used for a different request ({where})",
                    )
                )
                continue
            if first is not None:
                outcomes.append(_replayed(first[1]))
                continue
            if earlier is not None:
                replays.append((len(outcomes), earlier[1]))
                outcomes.append(None)
                continue
            try:
                version = self._plan(batch, request)
                delta = self._check_funds(batch, version, staged, balances_of)
            except PostRejected as rejected:
                outcomes.append(rejected)
                continue
            for bkey, cells in delta.items():
                held = staged.get(bkey)
                if held is None:
                    staged[bkey] = held = BalanceCells()
                _add(held, cells)
            self._remember(batch, request, version)
            in_batch[key] = (digest, len(outcomes))
            accepted.append((len(outcomes), version, digest, request))
            outcomes.append(None)
        return BatchPlan(outcomes, accepted, replays, staged)

    def _plan(self, batch: BatchState, request: Request) -> NewVersion:
        if isinstance(request, PostTransaction):
            return self._plan_post(batch, request)
        if isinstance(request, PostPending):
            return self._plan_post_pending(batch, request)
        if isinstance(request, VoidPending):
            return self._plan_void(batch, request)
        return self._plan_reversal(batch, request)

    def _plan_post(self, batch: BatchState, request: PostTransaction) -> NewVersion:
        tx_id = request.transaction_id or derived_transaction_id(
            self.ledger_id, request.idempotency_key
        )
        if batch.txs.get(tx_id) is not None:
            raise PostRejected("duplicate_transaction", f"transaction {tx_id!r} already exists")
        self._check_entries(batch, request.entries, request.effective_ns)
        if request.kind not in ("standard", "adjustment", "opening"):
            raise PostRejected("bad_kind", f"kind {request.kind!r} cannot be posted directly")
        return NewVersion(
            transaction_id=tx_id,
            version=0,
            kind="pending" if request.pending else request.kind,
            status="pending" if request.pending else "posted",
            entries=request.entries,
            effective_ns=request.effective_ns,
            idempotency_key=request.idempotency_key,
            external_id=request.external_id,
            description=request.description,
            metadata=request.metadata,
        )

    def _pending_target(self, batch: BatchState, tx_id: str) -> TxState:
        state = batch.txs.get(tx_id)
        if state is None:
            raise PostRejected(
                "unknown_transaction", f"no transaction {tx_id!r} in ledger {self.ledger_id!r}"
            )
        if state.status != "pending":
            raise PostRejected(
                "not_pending",
                f"transaction {tx_id!r} is {state.status} (version {state.version}): "
                "only a pending one can be posted or voided",
            )
        return state

    def _plan_post_pending(self, batch: BatchState, request: PostPending) -> NewVersion:
        state = self._pending_target(batch, request.transaction_id)
        legs = state.entries if request.entries is None else request.entries
        if request.entries is not None:
            if len(legs) != len(state.entries):
                raise PostRejected(
                    "partial_shape",
                    f"posting {request.transaction_id!r}: {len(legs)} entries given, "
                    f"the pending one has {len(state.entries)}",
                )
            for i, (leg, held) in enumerate(zip(legs, state.entries, strict=True)):
                if (leg.account_id, leg.asset_id, leg.direction) != (
                    held.account_id,
                    held.asset_id,
                    held.direction,
                ):
                    raise PostRejected(
                        "partial_shape",
                        f"posting {request.transaction_id!r}: entry {i} must be {held.direction} "
                        f"{held.account_id} {held.asset_id}, like the pending entry",
                    )
                if leg.amount > held.amount:
                    raise PostRejected(
                        "over_capture",
                        f"posting {request.transaction_id!r}: entry {i} amount {leg.amount} "
                        f"exceeds the pending {held.amount}",
                    )
        self._check_entries(batch, legs, request.effective_ns)
        return NewVersion(
            transaction_id=request.transaction_id,
            version=state.version + 1,
            kind="post_pending",
            status="posted",
            entries=legs,
            effective_ns=request.effective_ns,
            idempotency_key=request.idempotency_key,
            external_id=state.external_id,
            description=request.description,
        )

    def _plan_void(self, batch: BatchState, request: VoidPending) -> NewVersion:
        state = self._pending_target(batch, request.transaction_id)
        self._check_period(batch, request.effective_ns)
        return NewVersion(
            transaction_id=request.transaction_id,
            version=state.version + 1,
            kind="void_pending",
            status="archived",
            entries=state.entries,
            effective_ns=request.effective_ns,
            idempotency_key=request.idempotency_key,
            external_id=state.external_id,
            description=request.description,
        )

    def _plan_reversal(self, batch: BatchState, request: ReverseTransaction) -> NewVersion:
        original = batch.txs.get(request.transaction_id)
        if original is None:
            raise PostRejected(
                "unknown_transaction", f"no transaction {request.transaction_id!r} to reverse"
            )
        if original.status != "posted":
            raise PostRejected(
                "not_posted",
                f"transaction {request.transaction_id!r} is {original.status}: "
                "only a posted one can be reversed",
            )
        if original.kind == "reversal":
            raise PostRejected(
                "reverse_reversal", f"transaction {request.transaction_id!r} is itself a reversal"
            )
        if original.reversed_by is not None:
            raise PostRejected(
                "already_reversed",
                f"transaction {request.transaction_id!r} was already reversed "
                f"by {original.reversed_by!r}",
            )
        tx_id = request.reversal_transaction_id or derived_transaction_id(
            self.ledger_id, request.idempotency_key
        )
        if batch.txs.get(tx_id) is not None:
            raise PostRejected("duplicate_transaction", f"transaction {tx_id!r} already exists")
        inverse = tuple(
            EntrySpec(
                e.account_id, e.asset_id, "credit" if e.direction == "debit" else "debit", e.amount
            )
            for e in original.entries
        )
        self._check_entries(batch, inverse, request.effective_ns)
        return NewVersion(
            transaction_id=tx_id,
            version=0,
            kind="reversal",
            status="posted",
            entries=inverse,
            effective_ns=request.effective_ns,
            reverses_transaction_id=request.transaction_id,
            idempotency_key=request.idempotency_key,
            description=request.description,
        )

    # --- checks ------------------------------------------------------------------------

    def _check_period(self, batch: BatchState, effective_ns: int | None) -> None:
        if (
            effective_ns is not None
            and batch.closed_through_ns is not None
            and effective_ns <= batch.closed_through_ns
        ):
            raise PostRejected(
                "closed_period",
                f"effective time {effective_ns} falls in a closed period "
                f"(closed through {batch.closed_through_ns})",
            )

    def _check_entries(
        self, batch: BatchState, legs: Sequence[EntrySpec], effective_ns: int | None
    ) -> None:
        if not legs:
            raise PostRejected("no_entries", "a transaction needs at least two entries")
        self._check_period(batch, effective_ns)
        totals: dict[str, list[int]] = {}
        assets, accounts = batch.assets, batch.accounts
        for i, leg in enumerate(legs):
            account = accounts.get(leg.account_id)
            refused = self._bad_entry(i, leg, account, assets)
            if refused is not None:
                raise refused
            side = totals.setdefault(leg.asset_id, [0, 0])
            side[0 if leg.direction == "debit" else 1] += leg.amount
        for asset_id, (debit_sum, credit_sum) in sorted(totals.items()):
            if debit_sum != credit_sum:
                raise PostRejected(
                    "unbalanced",
                    f"{asset_id}: debits {debit_sum} != credits {credit_sum} "
                    f"(difference {debit_sum - credit_sum})",
                )

    def _bad_entry(
        self, i: int, leg: EntrySpec, account: AccountState | None, assets: AbstractSet[str]
    ) -> PostRejected | None:
        """Why entry ``i`` is refused (the first check it fails, in order), or None.

        The message names the leg; it is built only for a refused leg, not for every leg of
        every request.
        """
        amount, asset_id = leg.amount, leg.asset_id
        if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
            code, why = "bad_amount", "amount must be a positive integer of minor units"
        elif leg.direction not in ("debit", "credit"):
            code, why = "bad_direction", "direction must be debit or credit"
        elif asset_id not in assets:
            code, why = "unknown_asset", "asset is not registered"
        elif account is None:
            code, why = "unknown_account", f"no such account in ledger {self.ledger_id!r}"
        elif account.closed_ns is not None:
            code, why = "closed_account", "the account is closed"
        elif account.asset_id is not None and account.asset_id != asset_id:
            code, why = "asset_mismatch", f"the account holds only {account.asset_id}"
        else:
            return None
        where = f"entry {i} ({leg.direction} {leg.account_id} {asset_id} {amount!r})"
        return PostRejected(code, f"{where}: {why}")

    def _check_funds(
        self,
        batch: BatchState,
        version: NewVersion,
        staged: dict[BalanceKey, BalanceCells],
        balances_of: BalancesOf,
    ) -> dict[BalanceKey, BalanceCells]:
        """Refuse a version that would take a no-negative account's available balance below zero."""
        state = batch.txs.get(version.transaction_id)
        previous = (
            (state.status, state.entries) if state is not None and version.version > 0 else None
        )
        delta = version_delta(version.status, version.entries, previous)
        guarded = {k for k in delta if not batch.accounts[k[0]].allow_negative}
        balances = balances_of(guarded)
        for key in sorted(guarded):
            normal = batch.accounts[key[0]].normal_balance
            change = delta[key].available(normal)
            if change >= 0:
                continue
            now = BalanceCells()
            _add(now, balances[key])
            if key in staged:
                _add(now, staged[key])
            if now.available(normal) + change < 0:
                raise PostRejected(
                    "insufficient_funds",
                    f"account {key[0]} {key[1]}: available {now.available(normal)}, "
                    f"this needs {-change}",
                )
        return delta

    def _remember(self, batch: BatchState, request: Request, version: NewVersion) -> None:
        state = batch.txs.get(version.transaction_id)
        reversed_by = state.reversed_by if state is not None else None
        batch.txs[version.transaction_id] = TxState(
            version.version,
            version.kind,
            version.status,
            version.external_id,
            version.entries,
            reversed_by,
        )
        if isinstance(request, ReverseTransaction):
            original = batch.txs[request.transaction_id]
            if original is not None:
                original.reversed_by = version.transaction_id


def settle(ledger_id: str, plan: BatchPlan, sealed: Sequence[SealedRow]) -> list[dict[str, object]]:
    """Fill in the results of the sealed versions and their replays; the idempotency rows."""
    key_rows: list[dict[str, object]] = []
    outcomes = plan.outcomes
    for (slot, version, digest, request), row in zip(plan.accepted, sealed, strict=True):
        result = PostResult(
            transaction_id=version.transaction_id,
            version=version.version,
            status=version.status,
            chain_seq=row.seq,
            chain_hash=row.chain_hash,
            recorded_ns=row.recorded_ns,
            replayed=False,
        )
        outcomes[slot] = result
        key_rows.append(
            {
                "ledger_id": ledger_id,
                "idempotency_key": request.idempotency_key,
                "request_hash": digest,
                "transaction_id": result.transaction_id,
                "version": result.version,
                "chain_seq": result.chain_seq,
            }
        )
    for slot, original_slot in plan.replays:
        original = outcomes[original_slot]
        if isinstance(original, PostResult):
            outcomes[slot] = _replayed(original)
    return key_rows


def _add(target: BalanceCells, other: BalanceCells) -> None:
    target.posted_debits += other.posted_debits
    target.posted_credits += other.posted_credits
    target.pending_debits += other.pending_debits
    target.pending_credits += other.pending_credits


def _replayed(result: PostResult) -> PostResult:
    return PostResult(
        result.transaction_id,
        result.version,
        result.status,
        result.chain_seq,
        result.chain_hash,
        result.recorded_ns,
        replayed=True,
    )


def _missing() -> PostResult:  # pragma: no cover - every accepted slot is filled above
    raise AssertionError("an accepted request was not sealed")
