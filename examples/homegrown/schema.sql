-- A home-grown payments ledger (SQLite), deliberately unlike ledger-audit's canonical schema:
-- integer ids, signed cents (credit positive) instead of a direction column, a status-history
-- table instead of versioned rows, naive local times (Europe/Berlin) instead of UTC epoch ns,
-- status words of its own, an account type column instead of a normal balance, a currency
-- code instead of CODE/scale, and no hash chain or idempotency keys.

CREATE TABLE accounts (
    code         TEXT PRIMARY KEY,          -- '1010', '2100-anna', ...
    title        TEXT NOT NULL,
    type         TEXT NOT NULL CHECK (type IN ('asset', 'liability', 'equity', 'income', 'expense')),
    currency     TEXT NOT NULL,             -- ISO 4217 code; cents are 1/100 of it
    overdraft    INTEGER NOT NULL DEFAULT 1 -- 0: the balance must never go below zero
);

CREATE TABLE payments (
    id         INTEGER PRIMARY KEY,
    reference  TEXT,                        -- the customer's or the bank's reference
    memo       TEXT NOT NULL,
    created    TIMESTAMP NOT NULL            -- naive local time, Europe/Berlin
);

CREATE TABLE payment_lines (
    id         INTEGER PRIMARY KEY,
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    account    TEXT NOT NULL REFERENCES accounts (code),
    cents      INTEGER NOT NULL,             -- signed: credit positive, debit negative
    currency   TEXT NOT NULL
);

CREATE TABLE payment_events (
    id         INTEGER PRIMARY KEY,          -- also orders two events of the same second
    payment_id INTEGER NOT NULL REFERENCES payments (id),
    state      TEXT NOT NULL CHECK (state IN ('AUTHORIZED', 'CAPTURED', 'CANCELLED', 'BOOKED')),
    at         TIMESTAMP NOT NULL            -- naive local time, Europe/Berlin
);

-- Balances the application keeps up to date (a cache; the audit recomputes them).
CREATE TABLE account_totals (
    account        TEXT NOT NULL REFERENCES accounts (code),
    currency       TEXT NOT NULL,
    posted_debits  INTEGER NOT NULL,         -- cents
    posted_credits INTEGER NOT NULL,
    pending_debits INTEGER NOT NULL,
    pending_credits INTEGER NOT NULL,
    refreshed      TIMESTAMP NOT NULL,       -- naive local time, Europe/Berlin
    PRIMARY KEY (account, currency)
);
