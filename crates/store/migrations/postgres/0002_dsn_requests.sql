-- mailstead schema 2, PostgreSQL dialect: delivery status notifications still owed.
--
-- The same logical table as migrations/sqlite/0002_dsn_requests.sql (same columns and
-- constraint meanings), with an identity column and BIGINT timestamps; blob_id is
-- COLLATE "C" as messages.blob_id is. See the SQLite file for what each column holds.
--
-- One row per DSN a delivery still owes its sender (RFC 3461 §6.2.2 "delivered" for local
-- delivery), written in the same transaction as the messages, kept until the outbound
-- queue has sent it.
CREATE TABLE dsn_requests (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    blob_id    TEXT COLLATE "C" NOT NULL,
    mail_from  TEXT NOT NULL,
    envid      TEXT,
    ret        TEXT CHECK (ret IN ('full', 'hdrs')),
    recipient  TEXT NOT NULL,
    orcpt_type TEXT,
    orcpt      TEXT,
    action     TEXT NOT NULL
        CHECK (action IN ('failed', 'delayed', 'delivered', 'relayed', 'expanded')),
    created_at BIGINT NOT NULL,
    CHECK ((orcpt_type IS NULL) = (orcpt IS NULL))
);
-- The queue takes the oldest first.
CREATE INDEX dsn_requests_created_at ON dsn_requests (created_at, id);
