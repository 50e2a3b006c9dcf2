-- mailstead schema 1, SQLite dialect.
--
-- The same logical schema as migrations/postgres/0001_initial.sql (same tables, columns
-- and constraint meanings). SQLite specifics:
-- - ids are INTEGER PRIMARY KEY AUTOINCREMENT, so an id is never handed out twice, even
--   after the row with the highest id was deleted (a stale id held by a session can never
--   name a newer row);
-- - booleans are INTEGER 0/1, timestamps INTEGER seconds since the Unix epoch;
-- - text compares by bytes (BINARY collation), as Rust's `Ord` on the model types does.
-- Foreign keys are enforced because every connection sets `PRAGMA foreign_keys = ON`;
-- ON DELETE CASCADE carries out the removal of a domain or account in one statement.

-- The migration runner creates this table (IF NOT EXISTS) before applying the first step,
-- because that step's row is written in the same transaction; this statement documents it.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
);

-- Named monotonic counters. 'uid_validity' hands out UIDVALIDITY values: each new mailbox
-- gets max(unix_now, last + 1), so a value is never given twice over the database's life
-- and a mailbox deleted and created again never gets its old one back (RFC 9051 §2.3.1.1).
CREATE TABLE counters (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);

CREATE TABLE domains (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- A name is either a primary domain or an alternative one, never both: checked by the
-- code inside the (single-writer) write transaction, since it spans two tables.
CREATE TABLE alternative_domains (
    name      TEXT    PRIMARY KEY,
    domain_id INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE
);
CREATE INDEX alternative_domains_domain_id ON alternative_domains (domain_id);

-- address = local_part '@' domain name, normalised (lower case, ASCII domain).
CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id      INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    local_part     TEXT    NOT NULL,
    address        TEXT    NOT NULL UNIQUE,
    display_name   TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    quota_bytes    INTEGER,
    enabled        INTEGER NOT NULL,
    global_admin   INTEGER NOT NULL,
    allow_spoofing INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    UNIQUE (domain_id, local_part)
);

CREATE TABLE domain_managers (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain_id  INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, domain_id)
);
CREATE INDEX domain_managers_domain_id ON domain_managers (domain_id);

CREATE TABLE app_passwords (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX app_passwords_account_id ON app_passwords (account_id);

-- local_part: '' is the catch-all, a pattern with '*' when wildcard.
CREATE TABLE aliases (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id  INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    local_part TEXT    NOT NULL,
    wildcard   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (domain_id, local_part)
);

-- position keeps the destinations in the order given.
CREATE TABLE alias_destinations (
    alias_id    INTEGER NOT NULL REFERENCES aliases (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    destination TEXT    NOT NULL,
    PRIMARY KEY (alias_id, position)
);

-- special_use: the RFC 6154 attribute as written in IMAP ('\Sent'), or NULL.
CREATE TABLE mailboxes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    uid_validity   INTEGER NOT NULL,
    uid_next       INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL,
    special_use    TEXT,
    subscribed     INTEGER NOT NULL,
    UNIQUE (account_id, name)
);

-- flags: bit set of system flags (model::Flags); keywords: space-separated, sorted, unique;
-- blob_id: lower-case hex SHA-256 of the raw message.
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid           INTEGER NOT NULL,
    modseq        INTEGER NOT NULL,
    flags         INTEGER NOT NULL,
    keywords      TEXT    NOT NULL,
    internal_date INTEGER NOT NULL,
    size          INTEGER NOT NULL,
    blob_id       TEXT    NOT NULL,
    UNIQUE (mailbox_id, uid)
);
-- Garbage collection asks which blobs are still referenced.
CREATE INDEX messages_blob_id ON messages (blob_id);

-- kind: 'appended', 'flags' or 'expunged'.
CREATE TABLE changes (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    modseq     INTEGER NOT NULL,
    uid        INTEGER NOT NULL,
    kind       TEXT    NOT NULL,
    PRIMARY KEY (mailbox_id, modseq)
);
