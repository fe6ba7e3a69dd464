-- Transactions: the history a holding's quantity, cost and gains come from (average cost).
-- quantity/price: buy and sell; amount: dividend and fee; ratio: split (new units per old).
CREATE TABLE transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    holding_id INTEGER NOT NULL REFERENCES holdings (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('buy', 'sell', 'dividend', 'fee', 'split')),
    day TEXT NOT NULL,
    quantity TEXT,
    price TEXT,
    amount TEXT,
    ratio TEXT,
    fees TEXT NOT NULL DEFAULT '0',
    notes TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX transactions_holding ON transactions (holding_id, day, id);
CREATE INDEX transactions_owner ON transactions (owner_id, day, id);

-- Every holding made before transactions becomes an opening buy on the day it was added.
INSERT INTO transactions (owner_id, holding_id, kind, day, quantity, price, fees, created_at)
SELECT owner_id, id, 'buy', substr(created_at, 1, 10), quantity, cost_basis, '0', created_at
FROM holdings;

-- Each user's base currency: totals are shown in it.
ALTER TABLE users ADD COLUMN base_currency TEXT NOT NULL DEFAULT 'USD';
