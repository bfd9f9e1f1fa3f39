-- Up Migration

-- What can be sold. A product's stock lives in its own row so Reserve locks only stock.
CREATE TABLE products (
  sku text PRIMARY KEY,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- on_hand is on the shelf; reserved of it is held for orders; available = on_hand - reserved.
-- The checks are the last line of defence against overselling: the row lock in Reserve is
-- the first.
CREATE TABLE stock (
  sku text PRIMARY KEY REFERENCES products (sku),
  on_hand integer NOT NULL CHECK (on_hand >= 0),
  reserved integer NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stock_reserved_within_on_hand CHECK (reserved >= 0 AND reserved <= on_hand)
);

-- One reservation per order: order_id is the idempotency key of Reserve.
CREATE TABLE reservations (
  order_id text PRIMARY KEY,
  state text NOT NULL CHECK (state IN ('RESERVED', 'COMMITTED', 'RELEASED')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Finds the reservations to expire without scanning the settled ones.
CREATE INDEX reservations_reserved_expires_at ON reservations (expires_at)
  WHERE state = 'RESERVED';

CREATE TABLE reservation_items (
  order_id text NOT NULL REFERENCES reservations (order_id),
  sku text NOT NULL REFERENCES products (sku),
  quantity integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, sku)
);

-- Down Migration

DROP TABLE reservation_items;
DROP TABLE reservations;
DROP TABLE stock;
DROP TABLE products;
