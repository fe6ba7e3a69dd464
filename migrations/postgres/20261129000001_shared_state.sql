-- State every instance shares, so any instance can serve any request and together they keep
-- to each price service's limits. Times are microseconds since 1970-01-01 UTC (`*_us`), so
-- they compare exactly on either database.

-- CSV files between the steps of their import (upload, map, check, write), for an hour after
-- their last use. `stage`: uploaded, checking, writing, done or failed (`message` says why);
-- `beat_us`: when the stage last moved or the write last said it is alive.
CREATE TABLE import_uploads (
    id TEXT PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content BYTEA NOT NULL,
    headers TEXT NOT NULL,
    stage TEXT NOT NULL CHECK (stage IN ('uploaded', 'checking', 'writing', 'done', 'failed')),
    message TEXT,
    written BIGINT NOT NULL DEFAULT 0,
    total BIGINT NOT NULL DEFAULT 0,
    created_us BIGINT NOT NULL,
    used_us BIGINT NOT NULL,
    beat_us BIGINT NOT NULL
);
CREATE INDEX import_uploads_owner ON import_uploads (owner_id, created_us);
CREATE INDEX import_uploads_used ON import_uploads (used_us);

-- Requests made to each price service per UTC minute and per UTC day (`window_us`: its start).
CREATE TABLE provider_budget (
    provider TEXT NOT NULL,
    period TEXT NOT NULL CHECK (period IN ('minute', 'day')),
    window_us BIGINT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (provider, period, window_us)
);

-- Each price service's circuit breaker: failures in a row, paused until, the trial request in
-- flight, and what /status shows.
CREATE TABLE provider_breaker (
    provider TEXT PRIMARY KEY,
    failures BIGINT NOT NULL DEFAULT 0,
    open_until_us BIGINT,
    trial_us BIGINT,
    last_success_us BIGINT,
    last_failure_us BIGINT,
    last_error TEXT
);
