-- Prices are kept in the major unit of their currency (pounds, not the pence London is quoted
-- in; dollars, not the cents of grain futures). What a price service sent in a minor unit
-- before that was stored as it came: London prices under GBP (the code upper-cased from GBp),
-- the others under USX, ZAC, ILA or GBX. Those stored quotes and the services' daily closes of
-- those assets are dropped, to be fetched again in the major unit; prices an owner entered
-- ('manual') are theirs and stay. The assets' currency becomes the major one.
DELETE FROM quotes WHERE asset_id IN (
    SELECT id FROM assets WHERE owner_id IS NULL
    AND (currency IN ('USX', 'ZAC', 'ILA', 'GBX') OR (currency = 'GBP' AND symbol LIKE '%.L'))
);
DELETE FROM prices WHERE source <> 'manual' AND asset_id IN (
    SELECT id FROM assets WHERE owner_id IS NULL
    AND (currency IN ('USX', 'ZAC', 'ILA', 'GBX') OR (currency = 'GBP' AND symbol LIKE '%.L'))
);
UPDATE assets SET currency = CASE currency
    WHEN 'USX' THEN 'USD' WHEN 'ZAC' THEN 'ZAR' WHEN 'ILA' THEN 'ILS' ELSE 'GBP' END
WHERE owner_id IS NULL AND currency IN ('USX', 'ZAC', 'ILA', 'GBX');
