-- An asset's prices by day, newest record of a day first, with the price itself: reading an
-- asset's history (the value chart, the returns) walks this index alone, in the order wanted,
-- without sorting or visiting the table.
CREATE INDEX prices_newest ON prices (asset_id, day, recorded_at DESC, price);
