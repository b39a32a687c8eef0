"""What Formance stores twice must agree: logs vs transactions, reverts, keys, moves.

The hash chain covers the logs only. A transaction row edited while its log is left alone
keeps the chain intact, so each transaction is compared with the memento its log hashed
(postings, timestamp, reference): a difference is ``source.inconsistent`` on the row. Also:

- a revert (metadata ``com.formance.spec/state/reverts``) and its original's ``reverted_at``
  must agree, and its log must name the same original;
- an idempotency key used with two different ``idempotency_hash`` values is
  ``idempotency.conflict`` (Formance refuses it, and a unique index forbids a second use, so
  it shows only in a database that lost the index, an older one or a tampered one);
- the moves of a transaction must be its postings (``source.inconsistent``), and each move's
  post-commit volumes must follow the move before it and the running sums of the amounts
  (``balance.running_broken``; an edited volume or an edited amount shows at its own move).

Columnar: joins and window expressions over the frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ledger_audit.findings import (
    CheckResult,
    Coverage,
    RuleId,
    Severity,
    findings_from,
    sort_findings,
)
from ledger_audit.sources.adapters.adapted import NativeCheck
from ledger_audit.sources.adapters.formance.hashing import pg_json_time, utf8_text
from ledger_audit.sources.adapters.formance.read import TX_LOGS, BucketRows

CHECK_LOGS = "formance_logs"
CHECK_MOVES = "formance_moves"
LOGS_RULES = (RuleId.SOURCE_INCONSISTENT, RuleId.IDEMPOTENCY_CONFLICT)
MOVES_RULES = (RuleId.BALANCE_RUNNING_BROKEN, RuleId.SOURCE_INCONSISTENT)
TX_ID = r'"id":([0-9]+),"reverted"'
"""Where a transaction log's memento names the transaction it creates (its first match)."""
_WIDE = pl.Decimal(38, 0)


def log_transactions(logs: pl.DataFrame) -> pl.DataFrame:
    """Per transaction log: the transaction id and fields its memento hashed.

    Go writes a memento's fields in a fixed order, so they are cut out by position (the
    postings array runs from ``"postings":`` to ``],"metadata":``) rather than parsed.
    """
    logs = logs.filter(pl.col("type").is_in(TX_LOGS))
    logs = logs.with_columns(utf8_text(logs.get_column("memento")).alias("memento_text"))
    text = pl.col("memento_text")
    start = text.str.find('"postings":', literal=True) + len('"postings":')
    end = text.str.find('],"metadata":', literal=True) + 1
    return logs.select(
        "ledger",
        pl.col("id").alias("log_id"),
        text.str.extract(TX_ID, 1).alias("tx_id"),
        text.str.slice(start, end - start).alias("log_postings"),
        text.str.extract(r'"timestamp":"([^"]*)"', 1).alias("log_timestamp"),
        text.str.extract(r'"reference":("(?:[^"\\]|\\.)*")', 1).alias("log_reference"),
        text.str.extract(r'^\{"revertedTransactionID":([0-9]+)', 1).alias("log_reverts"),
        "idempotency_key",
        "idempotency_hash",
    )


def keyed_log_transactions(logs: pl.DataFrame) -> pl.DataFrame:
    """:func:`log_transactions` reduced to what the frames need, for ``read_keyed_logs``.

    The same transaction id, read the same way, so both give the same keys.
    """
    text = utf8_text(logs.get_column("memento"))
    return logs.select(
        "ledger",
        pl.col("id").alias("log_id"),
        text.str.extract(TX_ID, 1).alias("tx_id"),
        "idempotency_key",
    )


def changed_postings(postings: pl.DataFrame, log_tx: pl.DataFrame) -> pl.DataFrame:
    """Transactions (ledger, id) whose posting rows differ from their memento's postings.

    Compared posting by posting: the memento's array split at ``},{`` (addresses and assets
    cannot hold braces; a value that does is a difference anyway) against each posting row
    written as Go writes it. Only the differing transactions are then written out whole.
    """
    inner = pl.concat_str(
        pl.lit('"source":"'),
        pl.col("source"),
        pl.lit('","destination":"'),
        pl.col("destination"),
        pl.lit('","amount":'),
        pl.col("amount"),
        pl.lit(',"asset":"'),
        pl.col("asset"),
        pl.lit('"'),
    )
    table = postings.select("ledger", "id", pl.col("k").cast(pl.Int64), inner.alias("one"))
    text = pl.col("log_postings")
    split = (
        pl.when(text == "[]")
        .then(pl.lit([], dtype=pl.List(pl.String)))
        .otherwise(text.str.strip_prefix("[{").str.strip_suffix("}]").str.split("},{"))
    )
    logged = (
        log_tx.filter(pl.col("tx_id").is_not_null())
        .select("ledger", pl.col("tx_id").alias("id"), split.alias("one"))
        .with_columns(pl.int_ranges(0, pl.col("one").list.len(), dtype=pl.Int64).alias("k"))
        .explode(["one", "k"])
        .filter(pl.col("k").is_not_null())
    )
    both = table.join(logged, on=["ledger", "id", "k"], how="full", coalesce=True)
    missing = pl.col("one").is_null() | pl.col("one_right").is_null()
    return (
        both.filter(missing | (pl.col("one") != pl.col("one_right")))
        .select("ledger", "id")
        .unique()
    )


def table_postings(postings: pl.DataFrame) -> pl.DataFrame:
    """Each transaction's posting rows written back as Go writes a posting array.

    Compared with the memento's text, so an edit of the transactions table shows even
    though its log, and so the chain, are intact.
    """
    one = pl.concat_str(
        pl.lit('{"source":"'),
        pl.col("source"),
        pl.lit('","destination":"'),
        pl.col("destination"),
        pl.lit('","amount":'),
        pl.col("amount"),
        pl.lit(',"asset":"'),
        pl.col("asset"),
        pl.lit('"}'),
    )
    return (
        postings.sort("ledger", "id", "k")
        .select("ledger", "id", one.alias("one"))
        .group_by("ledger", "id")
        .agg(pl.col("one").str.join(","))
        .select("ledger", "id", pl.format("[{}]", "one").alias("postings"))
    )


def go_json_string(column: pl.Expr) -> pl.Expr:
    """A text column as the JSON string Go writes (null stays null)."""
    encoded = pl.struct(column.alias("v")).struct.json_encode()
    literal = encoded.str.strip_prefix('{"v":').str.strip_suffix("}")
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        literal = literal.str.replace_all(raw, escaped, literal=True)
    return pl.when(column.is_null() | (column == "")).then(None).otherwise(literal)


def exact(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """NUMERIC text columns as Int64 when every value fits, else as Decimal(38, 0)."""
    narrow = frame.with_columns(pl.col(c).cast(pl.Int64, strict=False) for c in columns)
    lost = any(
        int(narrow.get_column(c).null_count()) != int(frame.get_column(c).null_count())
        for c in columns
    )
    return (
        frame.with_columns(pl.col(c).cast(_WIDE, strict=False) for c in columns) if lost else narrow
    )


def _text(frame: pl.LazyFrame, **kw: object) -> pl.LazyFrame:
    return findings_from(frame, **kw)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class LogContent:
    """Transaction logs whose memento was compared with their transaction row, per ledger.

    Attributes:
        inconsistent: log ids whose memento differs from the row (postings, time, reference).
        consistent: log ids whose memento matches the row (their content is intact).
    """

    inconsistent: dict[str, frozenset[int]]
    consistent: dict[str, frozenset[int]]


def logs_check(rows: BucketRows, log_tx: pl.DataFrame) -> tuple[NativeCheck, LogContent]:
    """Transactions against their logs, reverts, idempotency keys; and which logs agree."""
    changed_ids = changed_postings(rows.postings, log_tx)
    table_text = table_postings(rows.postings.join(changed_ids, on=["ledger", "id"], how="semi"))
    tx = (
        rows.transactions.drop("postings", strict=False)
        .join(
            changed_ids.with_columns(pl.lit(value=True).alias("changed")),
            on=["ledger", "id"],
            how="left",
        )
        .join(table_text, on=["ledger", "id"], how="left")
        .with_columns(
            pl.col("changed").fill_null(value=False),
            pl.col("postings").fill_null("[]"),
            pl.concat_str(pg_json_time(pl.col("timestamp")), pl.lit("Z")).alias("timestamp_text"),
            go_json_string(pl.col("reference")).alias("reference_json"),
        )
    )
    joined = tx.join(
        log_tx.filter(pl.col("tx_id").is_not_null()),
        left_on=["ledger", "id"],
        right_on=["ledger", "tx_id"],
        how="full",
        coalesce=False,
    ).with_columns(
        pl.coalesce("ledger", "ledger_right").alias("ledger_id"),
        # only a changed transaction carries the table's text; the others equal their memento
        pl.when(pl.col("changed"))
        .then(pl.col("postings"))
        .otherwise(pl.col("log_postings"))
        .alias("postings"),
    )
    loc = {
        "table": None,
        "severity": Severity.HIGH,
        "rule": RuleId.SOURCE_INCONSISTENT,
        "check": CHECK_LOGS,
    }
    tx_loc = pl.format("transactions(ledger={}, id={})", "ledger_id", pl.coalesce("id", "tx_id"))
    parts: list[pl.LazyFrame] = []
    no_log = joined.filter(pl.col("log_id").is_null())
    parts.append(
        findings_from(
            no_log.lazy().with_columns(pl.col("id").alias("transaction_id")),
            message=pl.format(
                "transaction {} of ledger {} has no log: it was written around the "
                "ledger, or its log was deleted",
                "id",
                "ledger_id",
            ),
            locator=tx_loc,
            expected=pl.lit("a NEW_TRANSACTION or REVERTED_TRANSACTION log"),
            actual=pl.lit("none"),
            **loc,  # type: ignore[arg-type]
        )
    )
    no_tx = joined.filter(pl.col("id").is_null())
    parts.append(
        findings_from(
            no_tx.lazy().with_columns(pl.col("tx_id").alias("transaction_id")),
            message=pl.format(
                "log {} of ledger {} records transaction {}, which the transactions "
                "table lacks: it was deleted",
                "log_id",
                "ledger_id",
                "tx_id",
            ),
            locator=pl.format("logs(ledger={}, id={})", "ledger_id", "log_id"),
            expected=pl.format("transaction {}", "tx_id"),
            actual=pl.lit("none"),
            **loc,  # type: ignore[arg-type]
        )
    )
    both = joined.filter(pl.col("id").is_not_null() & pl.col("log_id").is_not_null())
    for column, logged, what in (
        ("postings", "log_postings", "postings"),
        ("timestamp_text", "log_timestamp", "timestamp"),
        ("reference_json", "log_reference", "reference"),
    ):
        differs = both.filter(pl.col(column).fill_null("") != pl.col(logged).fill_null(""))
        parts.append(
            findings_from(
                differs.lazy().with_columns(pl.col("id").alias("transaction_id")),
                message=pl.format(
                    f"transaction {{}} of ledger {{}}: its {what} differ from "
                    "the memento its log {} hashed (the row was edited under an "
                    "intact chain)",
                    "id",
                    "ledger_id",
                    "log_id",
                ),
                locator=tx_loc,
                expected=pl.col(logged),
                actual=pl.col(column),
                **loc,  # type: ignore[arg-type]
            )
        )
    # reverts: the revert's target must be marked reverted, and the log must name it
    originals = tx.select(
        "ledger", pl.col("id").alias("reverts"), pl.col("reverted_at").alias("target_reverted_at")
    )
    reverts = (
        tx.filter(pl.col("reverts").is_not_null())
        .join(originals, on=["ledger", "reverts"], how="left")
        .with_columns(pl.col("ledger").alias("ledger_id"))
    )
    parts.append(
        findings_from(
            reverts.filter(pl.col("target_reverted_at").is_null())
            .lazy()
            .with_columns(pl.col("id").alias("transaction_id")),
            message=pl.format(
                "transaction {} reverts transaction {}, which is missing or has no reverted_at",
                "id",
                "reverts",
            ),
            locator=pl.format("transactions(ledger={}, id={})", "ledger_id", "id"),
            expected=pl.lit("reverted_at set"),
            actual=pl.lit("null or no such transaction"),
            **loc,  # type: ignore[arg-type]
        )
    )
    reverted_ids = tx.filter(pl.col("reverts").is_not_null()).select(
        "ledger", pl.col("reverts").alias("id")
    )
    orphan = (
        tx.filter(pl.col("reverted_at").is_not_null())
        .join(reverted_ids, on=["ledger", "id"], how="anti")
        .with_columns(pl.col("ledger").alias("ledger_id"))
    )
    parts.append(
        findings_from(
            orphan.lazy().with_columns(pl.col("id").alias("transaction_id")),
            message=pl.format("transaction {} has reverted_at but no transaction reverts it", "id"),
            locator=pl.format("transactions(ledger={}, id={})", "ledger_id", "id"),
            expected=pl.lit("a revert naming it"),
            actual=pl.lit("none"),
            **loc,  # type: ignore[arg-type]
        )
    )
    log_names = both.filter(
        pl.col("log_reverts").is_not_null()
        & (pl.col("log_reverts") != pl.col("reverts").fill_null(""))
    )
    parts.append(
        findings_from(
            log_names.lazy().with_columns(pl.col("id").alias("transaction_id")),
            message=pl.format(
                "the revert log {} names transaction {}, the metadata of transaction {} names {}",
                "log_id",
                "log_reverts",
                "id",
                "reverts",
            ),
            locator=tx_loc,
            expected=pl.col("log_reverts"),
            actual=pl.col("reverts"),
            **loc,  # type: ignore[arg-type]
        )
    )
    keyed = rows.logs.filter(pl.col("idempotency_key").is_not_null())
    # Only a key on two or more logs can conflict: the rest are not grouped (a string join
    # per key over every log was the slowest step of this check).
    reused = keyed.filter(pl.struct("ledger", "idempotency_key").is_duplicated())
    conflicts = (
        reused.group_by("ledger", "idempotency_key")
        .agg(
            pl.col("idempotency_hash").n_unique().alias("hashes"),
            pl.col("id").sort_by("id_int").str.join(", ").alias("log_ids"),
            pl.col("idempotency_hash").sort_by("id_int").str.join(", ").alias("values"),
        )
        .filter(pl.col("hashes") > 1)
        .with_columns(pl.col("ledger").alias("ledger_id"))
    )
    parts.append(
        findings_from(
            conflicts.lazy(),
            rule=RuleId.IDEMPOTENCY_CONFLICT,
            severity=Severity.HIGH,
            check=CHECK_LOGS,
            table=None,
            message=pl.format(
                "idempotency key {} of ledger {} was used by logs {} with different request hashes",
                "idempotency_key",
                "ledger_id",
                "log_ids",
            ),
            locator=pl.format(
                "logs(ledger={}, idempotency_key={})", "ledger_id", "idempotency_key"
            ),
            expected=pl.lit("one idempotency_hash per key"),
            actual=pl.col("values"),
        )
    )
    frame = sort_findings(pl.concat([p.collect() for p in parts]))
    changed = (
        (pl.col("postings").fill_null("") != pl.col("log_postings").fill_null(""))
        | (pl.col("timestamp_text").fill_null("") != pl.col("log_timestamp").fill_null(""))
        | (pl.col("reference_json").fill_null("") != pl.col("log_reference").fill_null(""))
    )
    content = LogContent(
        _ids_by_ledger(both.filter(changed)), _ids_by_ledger(both.filter(~changed))
    )
    unproven = (
        (
            "Formance's idempotency_hash is a digest of the API request, which is not stored: "
            "a key reused with the same request hash but other postings is not proven"
        ),
    )
    coverage = Coverage(
        rows.transactions.height + rows.logs.height,
        "transactions and logs",
        "each transaction against the memento its log hashed; reverts; idempotency keys",
        unproven=unproven,
    )
    return NativeCheck(CheckResult(CHECK_LOGS, frame, coverage), LOGS_RULES), content


def _ids_by_ledger(rows: pl.DataFrame) -> dict[str, frozenset[int]]:
    grouped = (
        rows.select("ledger_id", pl.col("log_id").cast(pl.Int64, strict=False))
        .drop_nulls()
        .group_by("ledger_id")
        .agg("log_id")
    )
    return {str(ledger): frozenset(ids) for ledger, ids in grouped.iter_rows()}


def moves_check(rows: BucketRows, features: dict[str, dict[str, str]]) -> NativeCheck:
    """Moves against postings, and each move's post-commit volumes against the one before."""
    moves = (
        exact(rows.moves, "amount", "pcv_in", "pcv_out")
        .with_columns(pl.col("transactions_id").cast(pl.String))
        .sort("seq")
    )
    zero = pl.lit(0).cast(moves.schema["amount"])
    inflow = pl.when(pl.col("is_source")).then(zero).otherwise(pl.col("amount"))
    outflow = pl.when(pl.col("is_source")).then(pl.col("amount")).otherwise(zero)
    key = ["ledger", "accounts_address", "asset"]
    # A move is broken where its volumes neither follow the stored volumes of the move before
    # (local) nor equal the running sums of the amounts (global): an edited volume then shows
    # at its own move only (the next one still matches the sums), an edited amount too (the
    # moves after it still follow their predecessors).
    local_in = pl.col("pcv_in").shift(1).over(key).fill_null(zero) + inflow
    local_out = pl.col("pcv_out").shift(1).over(key).fill_null(zero) + outflow
    running = (
        moves.with_columns(
            inflow.cum_sum().over(key).alias("want_in"),
            outflow.cum_sum().over(key).alias("want_out"),
            local_in.alias("local_in"),
            local_out.alias("local_out"),
        )
        .filter(
            (
                (
                    (pl.col("want_in") != pl.col("pcv_in"))
                    | (pl.col("want_out") != pl.col("pcv_out"))
                )
                & (
                    (pl.col("local_in") != pl.col("pcv_in"))
                    | (pl.col("local_out") != pl.col("pcv_out"))
                )
            )
            | pl.col("pcv_in").is_null()
            | pl.col("pcv_out").is_null()
        )
        .with_columns(pl.col("ledger").alias("ledger_id"))
    )
    broken = findings_from(
        running.lazy().with_columns(
            pl.col("accounts_address").alias("account_id"),
            pl.col("transactions_id").alias("transaction_id"),
        ),
        rule=RuleId.BALANCE_RUNNING_BROKEN,
        severity=Severity.HIGH,
        check=CHECK_MOVES,
        table=None,
        message=pl.format(
            "move {} of {} {}: its post-commit volumes do not follow the account's previous move",
            "seq",
            "accounts_address",
            "asset",
        ),
        locator=pl.format("moves(ledger={}, seq={})", "ledger_id", "seq"),
        expected=pl.format("(inputs {}, outputs {})", "want_in", "want_out"),
        actual=pl.format("(inputs {}, outputs {})", "pcv_in", "pcv_out"),
    )
    side_key = ["ledger", "tx", "account", "asset", "is_source"]
    postings = exact(rows.postings, "amount").with_columns(
        pl.col("amount").cast(moves.schema["amount"])
    )
    moves_on = sorted(name for name, f in features.items() if f.get("MOVES_HISTORY", "ON") == "ON")
    # one grouping of both sides (postings as posted, moves as moved) instead of a join
    sides = [
        postings.select(
            "ledger",
            pl.col("id").alias("tx"),
            pl.col(side).alias("account"),
            "asset",
            pl.lit(value=side == "source").alias("is_source"),
            pl.col("amount").alias("posted"),
            zero.alias("moved"),
        ).filter(pl.col("ledger").is_in(moves_on))
        for side in ("source", "destination")
    ]
    sides.append(
        moves.select(
            "ledger",
            pl.col("transactions_id").alias("tx"),
            pl.col("accounts_address").alias("account"),
            "asset",
            "is_source",
            zero.alias("posted"),
            pl.col("amount").alias("moved"),
        )
    )
    compared = (
        pl.concat(sides)
        .group_by(side_key)
        .agg(pl.col("posted").sum(), pl.col("moved").sum())
        .filter(pl.col("posted") != pl.col("moved"))
        .with_columns(pl.col("ledger").alias("ledger_id"))
    )
    mismatch = findings_from(
        compared.lazy().with_columns(
            pl.col("tx").alias("transaction_id"), pl.col("account").alias("account_id")
        ),
        rule=RuleId.SOURCE_INCONSISTENT,
        severity=Severity.HIGH,
        check=CHECK_MOVES,
        table=None,
        message=pl.format(
            "transaction {}: the moves of {} {} ({}) differ from its postings",
            "tx",
            "account",
            "asset",
            pl.when(pl.col("is_source")).then(pl.lit("out")).otherwise(pl.lit("in")),
        ),
        locator=pl.format(
            "moves(ledger={}, transactions_id={}, accounts_address={})",
            "ledger_id",
            "tx",
            "account",
        ),
        expected=pl.col("posted").cast(pl.String),
        actual=pl.col("moved").cast(pl.String),
    )
    frame = sort_findings(pl.concat([broken.collect(), mismatch.collect()]))
    off = sorted(set(features) - set(moves_on))
    unproven = tuple(
        f"ledger {name} has MOVES_HISTORY=OFF: its moves and post-commit volumes are not proven"
        for name in off
    )
    coverage = Coverage(
        moves.height,
        "moves",
        "post-commit volumes in insertion order per account and asset; moves against postings",
        unproven=unproven,
        unproven_rules=MOVES_RULES if features and not moves_on else (),
    )
    return NativeCheck(CheckResult(CHECK_MOVES, frame, coverage), MOVES_RULES)
