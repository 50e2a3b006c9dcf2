-- mailstead schema 1, PostgreSQL dialect.
--
-- The same logical schema as migrations/sqlite/0001_initial.sql (same tables, columns and
-- constraint meanings), written for PostgreSQL: identity columns, BOOLEAN, BYTEA.
-- Text that is compared, made unique or sorted (names, addresses, local parts, blob ids) is
-- declared COLLATE "C" so that ordering and uniqueness are by bytes, as in SQLite and in the
-- Rust `Ord` of the model types, whatever the database's default collation is.
--
-- schema_migrations is created by the migration runner before this file runs (it must exist
-- to record this very step); the statement here only documents it and is a no-op.

CREATE TABLE IF NOT EXISTS schema_migrations (
    version    BIGINT PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at BIGINT NOT NULL
);

-- Named monotonic counters. 'uid_validity' hands out UIDVALIDITY values: each new mailbox
-- gets max(unix_now, last + 1), so a value is never given twice over the database's life.
CREATE TABLE counters (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BIGINT NOT NULL
);

CREATE TABLE domains (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE alternative_domains (
    name      TEXT COLLATE "C" PRIMARY KEY,
    domain_id BIGINT NOT NULL REFERENCES domains (id) ON DELETE CASCADE
);
CREATE INDEX alternative_domains_domain_id ON alternative_domains (domain_id);

CREATE TABLE accounts (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id      BIGINT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    local_part     TEXT COLLATE "C" NOT NULL,
    address        TEXT COLLATE "C" NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    quota_bytes    BIGINT,
    enabled        BOOLEAN NOT NULL,
    global_admin   BOOLEAN NOT NULL,
    allow_spoofing BOOLEAN NOT NULL,
    created_at     BIGINT NOT NULL,
    UNIQUE (domain_id, local_part)
);

CREATE TABLE domain_managers (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    domain_id  BIGINT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, domain_id)
);
CREATE INDEX domain_managers_domain_id ON domain_managers (domain_id);

CREATE TABLE app_passwords (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX app_passwords_account_id ON app_passwords (account_id);

-- local_part: '' is the catch-all, a pattern with '*' when wildcard.
CREATE TABLE aliases (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    domain_id  BIGINT NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    local_part TEXT COLLATE "C" NOT NULL,
    wildcard   BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (domain_id, local_part)
);

CREATE TABLE alias_destinations (
    alias_id    BIGINT NOT NULL REFERENCES aliases (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    destination TEXT NOT NULL,
    PRIMARY KEY (alias_id, position)
);

-- special_use: the RFC 6154 attribute as written in IMAP ('\Sent'), or NULL.
CREATE TABLE mailboxes (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name           TEXT COLLATE "C" NOT NULL,
    uid_validity   BIGINT NOT NULL,
    uid_next       BIGINT NOT NULL,
    highest_modseq BIGINT NOT NULL,
    special_use    TEXT,
    subscribed     BOOLEAN NOT NULL,
    UNIQUE (account_id, name)
);

-- flags: bit set of system flags (model::Flags); keywords: space-separated, sorted, unique;
-- blob_id: lower-case hex SHA-256 of the raw message.
CREATE TABLE messages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    mailbox_id    BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid           BIGINT NOT NULL,
    modseq        BIGINT NOT NULL,
    flags         INTEGER NOT NULL,
    keywords      TEXT NOT NULL,
    internal_date BIGINT NOT NULL,
    size          BIGINT NOT NULL,
    blob_id       TEXT COLLATE "C" NOT NULL,
    UNIQUE (mailbox_id, uid)
);
-- Garbage collection asks which blobs are still referenced.
CREATE INDEX messages_blob_id ON messages (blob_id);

-- kind: 'appended', 'flags' or 'expunged'.
CREATE TABLE changes (
    mailbox_id BIGINT NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    modseq     BIGINT NOT NULL,
    uid        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    PRIMARY KEY (mailbox_id, modseq)
);

-- The PostgreSQL blob backend: id is the lower-case hex SHA-256 of data.
CREATE TABLE blobs (
    id         TEXT COLLATE "C" PRIMARY KEY,
    data       BYTEA NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
