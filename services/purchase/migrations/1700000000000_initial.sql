-- Up Migration

-- An order exists only once its stock is reserved; items are stored per row for reporting.
CREATE TABLE orders (
  id          uuid PRIMARY KEY,
  customer_id text NOT NULL,
  status      text NOT NULL CHECK (status IN ('CONFIRMED')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
  order_id uuid NOT NULL REFERENCES orders (id),
  sku      text NOT NULL,
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, sku)
);

-- One row per Idempotency-Key: who holds it (IN_PROGRESS until locked_until) and, once
-- COMPLETED, the outcome every replay returns. order_id is chosen at the first claim, so a
-- retry after a crash reserves under the same order id and inventory does nothing twice.
CREATE TABLE idempotency_keys (
  key          text PRIMARY KEY,
  fingerprint  text NOT NULL,
  order_id     uuid NOT NULL,
  state        text NOT NULL CHECK (state IN ('IN_PROGRESS', 'COMPLETED')),
  outcome      json, -- json, not jsonb: kept as written, so a replay is byte for byte
  locked_until timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE idempotency_keys;
DROP TABLE order_items;
DROP TABLE orders;
