-- Up Migration

-- The items of an order read back in the order the client sent them (they used to come back
-- sorted by SKU, so GET /v1/purchases/:id differed from the 201 answer). Orders stored before
-- this migration have no position and keep the SKU order.
ALTER TABLE order_items ADD COLUMN position integer;

-- Down Migration
ALTER TABLE order_items DROP COLUMN position;
