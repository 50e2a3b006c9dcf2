-- mailstead schema 5, PostgreSQL dialect: spam filtering (per-account settings, Bayes
-- models, greylisting).
--
-- The same logical tables as migrations/sqlite/0005_spam.sql (same columns and
-- constraint meanings), with BOOLEAN and BIGINT; text keys are COLLATE "C". See the
-- SQLite file for what each column holds.

-- Per-account spam settings; no row: the defaults.
CREATE TABLE account_spam_settings (
    account_id   BIGINT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    enabled      BOOLEAN NOT NULL,
    threshold    SMALLINT NOT NULL CHECK (threshold BETWEEN 0 AND 100),
    mark_as_read BOOLEAN NOT NULL
);

-- Bayes models: model_id 0 is the global model, else the account id (identity columns
-- start at 1). The trigger below removes an account's model with the account.
--
-- The bayes_models row is also the model's lock (see postgres/spam.rs): learners hold it
-- FOR KEY SHARE, bayes_reset FOR UPDATE. So it stays (zeroed) on reset, and only an
-- account's removal deletes it.
CREATE TABLE bayes_models (
    model_id     BIGINT PRIMARY KEY,
    spam_learned BIGINT NOT NULL CHECK (spam_learned >= 0),
    ham_learned  BIGINT NOT NULL CHECK (ham_learned >= 0)
);

-- Counts per feature (the u64 hash as the BIGINT of the same bits).
CREATE TABLE bayes_tokens (
    model_id BIGINT  NOT NULL,
    feature  BIGINT  NOT NULL,
    spam     INTEGER NOT NULL CHECK (spam >= 0),
    ham      INTEGER NOT NULL CHECK (ham >= 0),
    PRIMARY KEY (model_id, feature)
);

-- Learned messages per model, for idempotency and relearning.
CREATE TABLE bayes_learned (
    model_id    BIGINT NOT NULL,
    message_key TEXT COLLATE "C" NOT NULL,
    class       TEXT NOT NULL CHECK (class IN ('spam', 'ham')),
    PRIMARY KEY (model_id, message_key)
);

-- An account's removal (also through a domain's cascade) removes its Bayes model; the
-- models row first, the lock order of bayes_reset, so the two cannot deadlock.
CREATE FUNCTION accounts_forget_bayes_model() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bayes_models WHERE model_id = OLD.id;
    DELETE FROM bayes_tokens WHERE model_id = OLD.id;
    DELETE FROM bayes_learned WHERE model_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_forget_bayes_model AFTER DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_forget_bayes_model();

-- Greylisting (RFC 6647) state per triplet; pruned by a full scan (see the SQLite file).
CREATE TABLE greylist (
    triplet    TEXT COLLATE "C" PRIMARY KEY,
    first_seen BIGINT  NOT NULL,
    last_seen  BIGINT  NOT NULL,
    passed     BOOLEAN NOT NULL
);
