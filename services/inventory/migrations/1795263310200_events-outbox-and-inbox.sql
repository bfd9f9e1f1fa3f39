-- Up Migration

-- The transactional outbox: a change of stock and its StockChanged events commit together;
-- the relay publishes the events to JetStream afterwards and marks a row published only
-- after JetStream's ack. event_id is the Nats-Msg-Id, so a row published twice is stored
-- once by the stream.
CREATE TABLE outbox (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- publish order
  event_id     uuid NOT NULL UNIQUE,
  subject      text NOT NULL,
  event_type   text NOT NULL, -- the protobuf message, e.g. switchboard.inventory.v1.StockChanged
  payload      bytea NOT NULL, -- the protobuf encoding
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz, -- NULL until JetStream acknowledged it
  attempts     integer NOT NULL DEFAULT 0, -- failed publish attempts, for operators
  last_error   text
);

-- The relay's query and the backlog metrics read only the unpublished rows.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- The inbox: the id of every message a consumer applied, written in the transaction that
-- applies it. A message delivered again (redelivery, or published twice past JetStream's
-- duplicate window) finds its id here and changes nothing.
CREATE TABLE inbox (
  consumer    text NOT NULL, -- the durable consumer, e.g. inventory-orders
  message_id  text NOT NULL, -- the event id (= Nats-Msg-Id)
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
);

-- Down Migration
DROP TABLE inbox;
DROP TABLE outbox;
