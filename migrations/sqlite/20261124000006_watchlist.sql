-- Symbols an owner follows without holding them. Only market assets (the shared rows, owner_id
-- NULL) are watched: items have no market price. AUTOINCREMENT so a removed entry's id is never
-- handed out again.
CREATE TABLE watchlist (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    asset_id INTEGER NOT NULL REFERENCES assets (id),
    created_at TEXT NOT NULL,
    UNIQUE (owner_id, asset_id)
);
CREATE INDEX watchlist_asset ON watchlist (asset_id);
