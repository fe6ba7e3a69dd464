-- The latest quote of each market asset (shared by every app instance), and daily prices:
-- fetched ones (history) and ones an owner enters for an item ('manual').
CREATE TABLE quotes (
    asset_id INTEGER PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    quote TEXT NOT NULL,
    source TEXT NOT NULL,
    fetched_at TEXT NOT NULL
);

CREATE TABLE prices (
    asset_id INTEGER NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    price TEXT NOT NULL,
    source TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (asset_id, day, source)
);

-- Background refresh: an instance claims an asset until this time, so others skip it.
ALTER TABLE assets ADD COLUMN refresh_claimed_until TEXT;
