-- mailstead schema 4, SQLite dialect: DKIM keys, the outbound queue and server secrets.
--
-- The same logical tables as migrations/postgres/0004_queue_dkim.sql (same columns and
-- constraint meanings).

-- DKIM signing keys of a domain (RFC 6376), published at
-- <selector>._domainkey.<domain name>. Keys live here, and so in backups, not in files.
-- Columns:
-- - domain_id: the signing domain; its removal removes its keys;
-- - selector: the s= tag, unique per domain;
-- - algorithm: 'rsa' (rsa-sha256) or 'ed25519' (ed25519-sha256, RFC 8463);
-- - private_key: the private key, PKCS#8 DER;
-- - public_key: what p= publishes (before base64): SubjectPublicKeyInfo DER for RSA, the
--   raw 32 bytes for Ed25519 (RFC 8463 §4.2);
-- - created_at: when it was made;
-- - active: 1 when outgoing mail is signed with it. Rotation adds keys and deactivates
--   old ones, which stay (for verifiers of mail already sent) until removed.
-- UNIQUE (domain_id, selector) also serves the lookups by domain.
CREATE TABLE dkim_keys (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id   INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    selector    TEXT    NOT NULL,
    algorithm   TEXT    NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
    private_key BLOB    NOT NULL,
    public_key  BLOB    NOT NULL,
    created_at  INTEGER NOT NULL,
    active      INTEGER NOT NULL,
    UNIQUE (domain_id, selector)
);

-- The outbound queue: one row per envelope to send to other servers (or to local
-- mailboxes, for notifications to local senders), with its recipients in
-- queue_recipients. A message is written in the same transaction as the delivery that
-- accepted it (and its local copies and DSN requests), and removed with its recipients
-- once every recipient is final (delivered or failed). Columns:
-- - blob_id: the raw message as it is to be sent (lower-case hex SHA-256). A blob garbage
--   collector must count it as a reference, like messages.blob_id and
--   dsn_requests.blob_id;
-- - size: its size in octets;
-- - mail_from: the reverse path without <>, '' for the null sender (notifications, whose
--   failures are never reported);
-- - envid: ENVID xtext-decoded (RFC 3461 §4.4), NULL if not given;
-- - ret: 'full' or 'hdrs' (RET=, RFC 3461 §4.3), NULL if not given;
-- - body_8bit: 1 when the message needs BODY=8BITMIME;
-- - smtputf8: 1 when the envelope needs SMTPUTF8;
-- - requiretls: 1 for REQUIRETLS (RFC 8689): only over verified TLS to a server offering it;
-- - submitter: the account that submitted it, NULL for relayed mail, notifications, or once
--   that account is removed (the message is still sent);
-- - created_at: when it was accepted (a DSN's Arrival-Date; expiry counts from here);
-- - lease_until: a worker holds the message until then (NULL: free). A worker that dies
--   leaves its lease to expire, and the message is leased again.
CREATE TABLE queue_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_id     TEXT    NOT NULL,
    size        INTEGER NOT NULL,
    mail_from   TEXT    NOT NULL,
    envid       TEXT,
    ret         TEXT CHECK (ret IN ('full', 'hdrs')),
    body_8bit   INTEGER NOT NULL,
    smtputf8    INTEGER NOT NULL,
    requiretls  INTEGER NOT NULL,
    submitter   INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    lease_until INTEGER
);
-- Per-account listing and limits, and the SET NULL of an account's removal.
CREATE INDEX queue_messages_submitter ON queue_messages (submitter);

-- One recipient of a queued message and where its delivery stands. Columns:
-- - message_id: the envelope; its removal removes its recipients;
-- - address: the forward path without <>, as sent in RCPT TO;
-- - orcpt_type, orcpt: ORCPT's addr-type and xtext-decoded address (RFC 3461 §4.2),
--   both NULL or both set;
-- - notify: NOTIFY= as a bit set (model::NotifyFlags: 1 SUCCESS, 2 FAILURE, 4 DELAY,
--   8 NEVER), 0 when not given;
-- - status: 'pending' (tried again at next_attempt), 'delivered' or 'failed' (final);
-- - attempts: delivery attempts made so far;
-- - next_attempt: when a pending recipient is due next;
-- - last_attempt: when it was last tried, NULL before the first attempt;
-- - last_error: the last error (or, once delivered, the accepting reply), without NUL;
-- - delay_notified: 1 once a delay notice was sent for it (one per recipient).
CREATE TABLE queue_recipients (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id     INTEGER NOT NULL REFERENCES queue_messages (id) ON DELETE CASCADE,
    address        TEXT    NOT NULL,
    orcpt_type     TEXT,
    orcpt          TEXT,
    notify         INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts       INTEGER NOT NULL,
    next_attempt   INTEGER NOT NULL,
    last_attempt   INTEGER,
    last_error     TEXT,
    delay_notified INTEGER NOT NULL,
    CHECK ((orcpt_type IS NULL) = (orcpt IS NULL))
);
-- A message's recipients, and the cascade of its removal.
CREATE INDEX queue_recipients_message_id ON queue_recipients (message_id);
-- What is due: a range scan of status = 'pending' AND next_attempt <= now (leasing, and
-- the earliest due time the queue sleeps until).
CREATE INDEX queue_recipients_due ON queue_recipients (status, next_attempt);

-- Server-wide secrets made once and shared by every process (and node): e.g. the SRS key.
-- name: what it is for; value: the secret bytes. Written once, by whoever comes first.
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
