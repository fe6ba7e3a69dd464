-- Cash an account holds, per currency: money paid in (deposit) and taken out (withdrawal),
-- interest paid on it, fees charged to it, and money moved to another of the owner's accounts
-- (transfer: from account_id to to_account_id). Buys, sells, dividends and a holding's fees in
-- an account move its cash too, in the asset's currency, once the account has any of these.
CREATE TABLE cash_transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES portfolio_accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'interest', 'fee', 'transfer')),
    day TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    to_account_id INTEGER REFERENCES portfolio_accounts (id) ON DELETE CASCADE,
    notes TEXT,
    created_at TEXT NOT NULL,
    CHECK ((kind = 'transfer') = (to_account_id IS NOT NULL)),
    CHECK (to_account_id <> account_id)
);
CREATE INDEX cash_transactions_owner ON cash_transactions (owner_id, day, id);
CREATE INDEX cash_transactions_account ON cash_transactions (account_id);
CREATE INDEX cash_transactions_to_account ON cash_transactions (to_account_id);
