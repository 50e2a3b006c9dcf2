-- mailstead schema 3, SQLite dialect: the message index (IMAP summaries and search text).
--
-- The same logical table as migrations/postgres/0003_message_index.sql (same columns and
-- constraint meanings).
--
-- One row per blob, not per message: blobs are content-addressed and immutable, so every
-- copy of a message (COPY, MOVE, the same message delivered to several recipients) shares
-- one row, written once (INSERT OR IGNORE) by delivery, APPEND or the IMAP indexer.
-- Columns:
-- - blob_id: the raw message (lower-case hex SHA-256), as messages.blob_id;
-- - summary: what IMAP FETCH needs without reading the blob (ENVELOPE, BODYSTRUCTURE, sent
--   date), serialised by mailstead-message; opaque to the store;
-- - header_text: decoded, lower-cased header fields, `name: value` per line;
-- - body_text: decoded, lower-cased body text.
-- The three texts never hold NUL: the store strips it before writing, in both dialects,
-- because PostgreSQL TEXT cannot hold it.
--
-- Deliberately NOT a foreign key to messages: a row outlives the deletion of the messages
-- that referenced its blob (expunge, mailbox or account deletion), and the blob garbage
-- collector, which already asks which blobs are unreferenced, removes it with the blob.
-- An index row without a message is harmless: every read joins from messages.
--
-- IMAP SEARCH scans a mailbox's rows with instr() (a plain substring test, no pattern
-- characters); no full-text index yet. If that becomes too slow for large mailboxes, an
-- FTS5 table (trigram tokenizer) over header_text/body_text is the next step.
--
-- messages needs no new index: the index rows are found from a mailbox's messages through
-- the UNIQUE (mailbox_id, uid) index and this table's primary key, and the STATUS counts
-- (mailbox_counts) read the same range of (mailbox_id, uid).
CREATE TABLE message_index (
    blob_id     TEXT PRIMARY KEY,
    summary     TEXT NOT NULL,
    header_text TEXT NOT NULL,
    body_text   TEXT NOT NULL
);
