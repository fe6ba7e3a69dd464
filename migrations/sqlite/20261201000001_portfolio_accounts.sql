-- Accounts a user keeps assets in (a broker, a bank, "Wallet"); every transaction is in one.
-- Each user's existing transactions move into an account named "Default", made for every user
-- (a user's first transaction without an account goes there too).
CREATE TABLE portfolio_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    -- The name in lower case as the server writes it (every letter): unique per user.
    name_key TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX portfolio_accounts_name ON portfolio_accounts (owner_id, name_key);

INSERT INTO portfolio_accounts (owner_id, name, name_key, created_at)
SELECT id, 'Default', 'default', strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM users;

-- SQLite cannot make an added column NOT NULL; the store always writes it.
ALTER TABLE transactions ADD COLUMN account_id INTEGER REFERENCES portfolio_accounts (id);
UPDATE transactions SET account_id =
    (SELECT a.id FROM portfolio_accounts a WHERE a.owner_id = transactions.owner_id);
CREATE INDEX transactions_account ON transactions (account_id);
