-- Bumped by every change to an owner's holdings or item prices, so an instance can keep the
-- list in memory and check with one small query that it is still current.
ALTER TABLE users ADD COLUMN holdings_version BIGINT NOT NULL DEFAULT 0;
