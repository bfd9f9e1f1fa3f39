-- Up Migration

-- The transactional outbox: an event is written here in the transaction that makes the state
-- change it tells of (an order and its OrderConfirmed commit together), and the relay
-- publishes it to JetStream afterwards, marking it published only after JetStream's ack.
-- event_id is the Nats-Msg-Id, so a row published twice is stored once by the stream.
CREATE TABLE outbox (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- publish order
  event_id     uuid NOT NULL UNIQUE,
  subject      text NOT NULL,
  event_type   text NOT NULL, -- the protobuf message, e.g. switchboard.orders.v1.OrderConfirmed
  payload      bytea NOT NULL, -- the protobuf encoding
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz, -- NULL until JetStream acknowledged it
  attempts     integer NOT NULL DEFAULT 0, -- failed publish attempts, for operators
  last_error   text
);

-- The relay's query and the backlog metrics read only the unpublished rows.
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;

-- Down Migration
DROP TABLE outbox;
