-- Owners, assets and holdings. Decimals are stored as TEXT so they stay exact.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Until accounts exist, every holding belongs to this owner (id 1).
INSERT INTO users (username) VALUES ('default');

-- Market assets (owner_id NULL) are shared; items belong to their owner.
CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    owner_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    symbol TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('stock', 'etf', 'commodity', 'crypto', 'item')),
    name TEXT,
    currency TEXT NOT NULL DEFAULT 'USD',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX assets_market_key ON assets (kind, symbol) WHERE owner_id IS NULL;
CREATE UNIQUE INDEX assets_owned_key ON assets (owner_id, kind, symbol) WHERE owner_id IS NOT NULL;

-- AUTOINCREMENT so the id of a deleted holding is never handed out again.
CREATE TABLE holdings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset_id INTEGER NOT NULL REFERENCES assets (id),
    quantity TEXT NOT NULL,
    cost_basis TEXT,
    notes TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (owner_id, asset_id)
);
CREATE INDEX holdings_asset ON holdings (asset_id);
