-- mailstead schema 4, PostgreSQL dialect: DKIM keys, the outbound queue and server
-- secrets.
--
-- The same logical tables as migrations/sqlite/0004_queue_dkim.sql (same columns and
-- constraint meanings), with identity columns, BOOLEAN, BYTEA and BIGINT timestamps;
-- text that is unique (selectors, secret names) or a blob id is COLLATE "C". See the
-- SQLite file for what each column holds.

-- DKIM signing keys of a domain (RFC 6376, RFC 8463): PKCS#8 DER private key, public
-- key as published in p=, 'rsa' or 'ed25519'; only active keys sign.
CREATE TABLE dkim_keys (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id   BIGINT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    selector    TEXT COLLATE "C" NOT NULL,
    algorithm   TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
    private_key BYTEA NOT NULL,
    public_key  BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    active      BOOLEAN NOT NULL,
    UNIQUE (domain_id, selector)
);

-- The outbound queue: one row per envelope, written in the transaction of the delivery
-- that accepted it, removed with its recipients once every recipient is final.
-- blob_id is a blob reference, like messages.blob_id and dsn_requests.blob_id: a blob
-- garbage collector must count it. lease_until: held by a worker until then (NULL: free);
-- leasing locks the rows FOR UPDATE SKIP LOCKED, so nodes never take the same message.
-- submitter becomes NULL when its account is removed; the message is still sent.
CREATE TABLE queue_messages (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    blob_id     TEXT COLLATE "C" NOT NULL,
    size        BIGINT NOT NULL,
    mail_from   TEXT NOT NULL,
    envid       TEXT,
    ret         TEXT CHECK (ret IN ('full', 'hdrs')),
    body_8bit   BOOLEAN NOT NULL,
    smtputf8    BOOLEAN NOT NULL,
    requiretls  BOOLEAN NOT NULL,
    submitter   BIGINT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  BIGINT NOT NULL,
    lease_until BIGINT
);
-- Per-account listing and limits, and the SET NULL of an account's removal.
CREATE INDEX queue_messages_submitter ON queue_messages (submitter);

-- One recipient of a queued message: notify is the NOTIFY= bit set (model::NotifyFlags,
-- 0 when not given); status 'pending' until 'delivered' or 'failed'; last_error holds
-- no NUL (TEXT cannot; the store strips it).
CREATE TABLE queue_recipients (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id     BIGINT NOT NULL REFERENCES queue_messages (id) ON DELETE CASCADE,
    address        TEXT NOT NULL,
    orcpt_type     TEXT,
    orcpt          TEXT,
    notify         INTEGER NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts       BIGINT NOT NULL,
    next_attempt   BIGINT NOT NULL,
    last_attempt   BIGINT,
    last_error     TEXT,
    delay_notified BOOLEAN NOT NULL,
    CHECK ((orcpt_type IS NULL) = (orcpt IS NULL))
);
-- A message's recipients, and the cascade of its removal.
CREATE INDEX queue_recipients_message_id ON queue_recipients (message_id);
-- What is due: a range scan of status = 'pending' AND next_attempt <= now.
CREATE INDEX queue_recipients_due ON queue_recipients (status, next_attempt);

-- Server-wide secrets made once and shared by every node (e.g. the SRS key); the first
-- writer wins (INSERT ... ON CONFLICT DO NOTHING).
CREATE TABLE secrets (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);
