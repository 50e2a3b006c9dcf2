-- mailstead schema 5, SQLite dialect: spam filtering (per-account settings, Bayes models,
-- greylisting).
--
-- The same logical tables as migrations/postgres/0005_spam.sql (same columns and
-- constraint meanings).

-- Per-account spam settings; an account without a row has the defaults
-- (model::SpamSettings::default: enabled, threshold 80, not marked as read). Columns:
-- - enabled: 1 to file this account's spam in Junk;
-- - threshold: 0-100, the percent of the reject score above which mail is spam to it;
-- - mark_as_read: 1 to mark messages filed in Junk as \Seen.
CREATE TABLE account_spam_settings (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    enabled      INTEGER NOT NULL,
    threshold    INTEGER NOT NULL CHECK (threshold BETWEEN 0 AND 100),
    mark_as_read INTEGER NOT NULL
);

-- Bayes models. model_id is 0 for the global model and the account id for an account's
-- own (account ids start at 1: AUTOINCREMENT). A foreign key cannot express that, so the
-- trigger below removes an account's model with the account (also when a domain's
-- removal cascades to it).

-- How many messages a model has learned, per class (never below 0). A model without a
-- row has learned nothing.
CREATE TABLE bayes_models (
    model_id     INTEGER PRIMARY KEY,
    spam_learned INTEGER NOT NULL CHECK (spam_learned >= 0),
    ham_learned  INTEGER NOT NULL CHECK (ham_learned >= 0)
);

-- Per feature (a 64-bit hash of a token, stored as the signed integer of the same bits),
-- how many learned spam and ham messages had it. A feature never learned has no row; no
-- row holds spam = 0 and ham = 0, since every learn adds one to each feature it names.
-- WITHOUT ROWID: the primary key is the only lookup, so the table is that one b-tree.
CREATE TABLE bayes_tokens (
    model_id INTEGER NOT NULL,
    feature  INTEGER NOT NULL,
    spam     INTEGER NOT NULL CHECK (spam >= 0),
    ham      INTEGER NOT NULL CHECK (ham >= 0),
    PRIMARY KEY (model_id, feature)
) WITHOUT ROWID;

-- Which messages a model has learned, and as what: learning is idempotent per
-- (model_id, message_key), and a message learned as the other class is moved over.
-- message_key: the message's blob id, or a hash of a file's bytes; class: 'spam' or 'ham'.
CREATE TABLE bayes_learned (
    model_id    INTEGER NOT NULL,
    message_key TEXT    NOT NULL,
    class       TEXT    NOT NULL CHECK (class IN ('spam', 'ham')),
    PRIMARY KEY (model_id, message_key)
) WITHOUT ROWID;

-- An account's removal removes its Bayes model.
CREATE TRIGGER accounts_forget_bayes_model AFTER DELETE ON accounts
BEGIN
    DELETE FROM bayes_models WHERE model_id = OLD.id;
    DELETE FROM bayes_tokens WHERE model_id = OLD.id;
    DELETE FROM bayes_learned WHERE model_id = OLD.id;
END;

-- Greylisting (RFC 6647) state per triplet (what the caller builds from the client's IP
-- network, the reverse path and the forward path). Columns:
-- - first_seen: when the triplet was first seen (an expired entry starts over);
-- - last_seen: when it was last let through (first_seen until it passes);
-- - passed: 1 once it was retried after the delay.
-- greylist_prune removes expired entries in a full scan: it runs rarely, while an index
-- on last_seen would be rewritten by every passing check.
CREATE TABLE greylist (
    triplet    TEXT    PRIMARY KEY,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    passed     INTEGER NOT NULL
) WITHOUT ROWID;
