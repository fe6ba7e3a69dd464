-- The market asset each user compares the portfolio's time-weighted return with (none: NULL).
ALTER TABLE users ADD COLUMN benchmark_symbol TEXT;
ALTER TABLE users ADD COLUMN benchmark_kind TEXT;
