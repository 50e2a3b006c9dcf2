-- mailstead schema 2, SQLite dialect: delivery status notifications still owed.
--
-- The same logical table as migrations/postgres/0002_dsn_requests.sql (same columns and
-- constraint meanings).
--
-- One row per DSN a delivery still owes its sender, kept with the message until the
-- outbound queue has sent it (RFC 3464 multipart/report) and deletes the row. Local
-- delivery answers failures synchronously (4xx/5xx), so what it records is RFC 3461
-- §6.2.2's "delivered" notification, for recipients whose NOTIFY includes SUCCESS. The row
-- is written in the same transaction as the messages it is about: a message is never
-- delivered without its owed DSN, nor a DSN owed for a message that was not delivered.
--
-- Columns, and the RFC 3464 fields they become:
-- - blob_id: the raw message (lower-case hex SHA-256), for RET (RFC 3461 §4.3). A blob
--   garbage collector must count it as a reference, like messages.blob_id;
-- - mail_from: the reverse path without <> (where the DSN goes), '' for the null sender;
-- - envid: ENVID xtext-decoded (Original-Envelope-Id, §2.2.1), NULL if not given;
-- - ret: 'full' or 'hdrs' (RET=), NULL if not given;
-- - recipient: the recipient as accepted (Final-Recipient, §2.3.2);
-- - orcpt_type, orcpt: ORCPT's addr-type and xtext-decoded address (Original-Recipient,
--   §2.3.1), both NULL or both set;
-- - action: the RFC 3464 §2.3.3 action-value ('delivered' for local delivery);
-- - created_at: when the message was delivered (Arrival-Date, §2.2.5).
CREATE TABLE dsn_requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    blob_id    TEXT    NOT NULL,
    mail_from  TEXT    NOT NULL,
    envid      TEXT,
    ret        TEXT CHECK (ret IN ('full', 'hdrs')),
    recipient  TEXT    NOT NULL,
    orcpt_type TEXT,
    orcpt      TEXT,
    action     TEXT    NOT NULL
        CHECK (action IN ('failed', 'delayed', 'delivered', 'relayed', 'expanded')),
    created_at INTEGER NOT NULL,
    CHECK ((orcpt_type IS NULL) = (orcpt IS NULL))
);
-- The queue takes the oldest first.
CREATE INDEX dsn_requests_created_at ON dsn_requests (created_at, id);
