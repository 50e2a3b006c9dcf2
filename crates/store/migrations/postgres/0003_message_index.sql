-- mailstead schema 3, PostgreSQL dialect: the message index (IMAP summaries and search
-- text).
--
-- The same logical table as migrations/sqlite/0003_message_index.sql (same columns and
-- constraint meanings); blob_id is COLLATE "C" as messages.blob_id is. See the SQLite file
-- for what each column holds.
--
-- One row per blob, shared by every copy of a message, written once (ON CONFLICT DO
-- NOTHING). The texts never hold NUL: TEXT cannot, so the store strips it before writing.
--
-- Deliberately NOT a foreign key to messages: deleting messages leaves the row, and the
-- blob garbage collector removes it together with the unreferenced blob. Every read joins
-- from messages, so an orphan row is never seen.
--
-- IMAP SEARCH scans a mailbox's rows with strpos() (a plain substring test, unlike LIKE
-- no pattern characters); no full-text index yet. If that becomes too slow for large
-- mailboxes, a pg_trgm GIN index on header_text/body_text is the next step.
--
-- messages needs no new index: rows are found from a mailbox's messages through
-- UNIQUE (mailbox_id, uid) and this table's primary key, and the STATUS counts
-- (mailbox_counts) read the same index range.
CREATE TABLE message_index (
    blob_id     TEXT COLLATE "C" PRIMARY KEY,
    summary     TEXT NOT NULL,
    header_text TEXT NOT NULL,
    body_text   TEXT NOT NULL
);
