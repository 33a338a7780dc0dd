-- migsync:revision c52d9e07a4f8
-- migsync:down_revision 8b2e4f6a9c31
-- migsync:message add amount and adjusted close to daily bars

-- migsync:up
ALTER TABLE stock_daily ADD COLUMN amount double precision;
ALTER TABLE stock_daily ADD COLUMN adj_close double precision;
COMMENT ON COLUMN stock_daily.adj_close IS 'close adjusted for splits and dividends';

-- migsync:down
ALTER TABLE stock_daily DROP COLUMN adj_close;
ALTER TABLE stock_daily DROP COLUMN amount;
