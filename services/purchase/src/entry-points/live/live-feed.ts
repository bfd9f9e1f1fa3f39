import { randomUUID } from 'node:crypto';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { WebSocket } from 'ws';
import type { Order } from '../../domain/order.js';

/** A SKU's level, as inventory's StockChanged events carry it. */
export interface StockLevel {
  sku: string;
  onHand: number;
  reserved: number;
  available: number;
}

/** What the page's topology and socket panels show; opaque to the feed. */
export type Panel = Record<string, unknown>;

/** A change the feed sends, before it gets its sequence number. */
export type LiveChange =
  | { type: 'stock'; stock: StockLevel }
  | { type: 'order'; order: Order }
  | { type: 'sockets'; sockets: Panel }
  | { type: 'rates'; rates: Panel };

/** The protocol (ADR 21): every message is `{ seq, type, ... }`; changes have seq + 1 each. */
export type LiveMessage =
  | (LiveChange & { seq: number })
  | {
      seq: number;
      type: 'snapshot';
      /** Changes since the process started; a client with another epoch gets a snapshot. */
      epoch: string;
      stock: StockLevel[];
      orders: Order[];
      sockets: Panel;
      rates: Panel;
    };

/** Why a client was closed by the server, as metric label and close reason. */
export type DropReason = 'slow' | 'heartbeat' | 'shutdown';

/** 4008: the client's send buffer is full. 1001: going away. Both have a readable reason. */
export const CLOSE_SLOW = { code: 4008, reason: 'too slow: send buffer full' };
export const CLOSE_SHUTDOWN = { code: 1001, reason: 'server shutting down' };

export interface LiveFeedOptions {
  registry: Registry;
  /** How many changes are kept for a client that reconnects with `since`. */
  historySize: number;
  /** How many orders a snapshot carries (the latest first). */
  snapshotOrders: number;
  /** A client with more than this many bytes not yet sent is too slow and is closed. */
  maxBufferedBytes: number;
  /** Every this often each client is pinged; one that has not answered the last ping is closed. */
  heartbeatIntervalMs: number;
}

export interface LiveFeed {
  /** The epoch of this process's sequence numbers. */
  readonly epoch: string;
  clientCount(): number;
  /** The stock as the feed has it now, by SKU. */
  stock(): ReadonlyMap<string, StockLevel>;
  /** Fills in the state read at start-up (no message is sent). */
  seed(state: { stock: StockLevel[]; orders: Order[] }): void;
  /** Applies a change, numbers it, keeps it for replays and sends it to every client. */
  publish(change: LiveChange): void;
  /** Adds a client: a replay of what it missed after `since` if still kept, else a snapshot. */
  attach(socket: WebSocket, resume?: { epoch: string; since: number }): void;
  /** Closes every client (1001) and stops the heartbeat. */
  close(): void;
}

/**
 * The fan-out of the live feed: one state, one sequence, one ring of recent changes, and the
 * connected clients. Sending never waits: a client whose send buffer is over the bound is
 * closed (4008), so a slow reader costs the others nothing.
 */
export function createLiveFeed(options: LiveFeedOptions): LiveFeed {
  const epoch = randomUUID();
  const metrics = liveMetrics(options.registry);
  const stock = new Map<string, StockLevel>();
  let orders: Order[] = [];
  let sockets: Panel = {};
  let rates: Panel = {};
  let seq = 0;
  // The last historySize changes, oldest first; seqs are consecutive.
  const history: string[] = [];
  const clients = new Map<WebSocket, { alive: boolean }>();

  function apply(change: LiveChange): void {
    if (change.type === 'stock') stock.set(change.stock.sku, change.stock);
    else if (change.type === 'order') {
      if (orders.some((order) => order.orderId === change.order.orderId)) return;
      orders = [change.order, ...orders].slice(0, options.snapshotOrders);
    } else if (change.type === 'sockets') sockets = change.sockets;
    else rates = change.rates;
  }

  function snapshot(): string {
    const message: LiveMessage = {
      seq,
      type: 'snapshot',
      epoch,
      stock: [...stock.values()].sort((a, b) => a.sku.localeCompare(b.sku)),
      orders,
      sockets,
      rates,
    };
    return JSON.stringify(message);
  }

  function drop(socket: WebSocket, reason: DropReason): void {
    if (!clients.delete(socket)) return;
    metrics.dropped.inc({ reason });
    metrics.clients.set(clients.size);
    if (reason === 'heartbeat') {
      socket.terminate();
      return;
    }
    const { code, reason: text } = reason === 'slow' ? CLOSE_SLOW : CLOSE_SHUTDOWN;
    socket.close(code, text);
    // A client that does not read never answers the close: its socket goes anyway.
    setTimeout(() => socket.terminate(), 1_000).unref();
  }

  function send(socket: WebSocket, text: string): void {
    if (socket.bufferedAmount > options.maxBufferedBytes) {
      drop(socket, 'slow');
      return;
    }
    socket.send(text);
    metrics.sent.inc();
  }

  const heartbeat = setInterval(() => {
    for (const [socket, state] of clients) {
      if (!state.alive) {
        drop(socket, 'heartbeat');
        continue;
      }
      state.alive = false;
      socket.ping();
    }
  }, options.heartbeatIntervalMs);
  heartbeat.unref();

  return {
    epoch,
    clientCount: () => clients.size,
    stock: () => stock,
    seed(state) {
      // A change that came while the state was read is newer than the state: it stays.
      for (const level of state.stock) if (!stock.has(level.sku)) stock.set(level.sku, level);
      const known = new Set(orders.map((order) => order.orderId));
      orders = [...orders, ...state.orders.filter((order) => !known.has(order.orderId))].slice(
        0,
        options.snapshotOrders,
      );
    },
    publish(change) {
      apply(change);
      seq += 1;
      const text = JSON.stringify({ seq, ...change } satisfies LiveMessage);
      history.push(text);
      if (history.length > options.historySize) history.shift();
      for (const socket of clients.keys()) send(socket, text);
    },
    attach(socket, resume) {
      const state = { alive: true };
      clients.set(socket, state);
      metrics.clients.set(clients.size);
      socket.on('pong', () => (state.alive = true));
      socket.on('close', () => {
        if (clients.delete(socket)) metrics.clients.set(clients.size);
      });
      // history[0] has seq - history.length + 1: a client that saw at least the one before
      // it can be brought up to date from the ring alone.
      const oldestKept = seq - history.length + 1;
      const canReplay =
        resume !== undefined &&
        resume.epoch === epoch &&
        resume.since <= seq &&
        resume.since >= oldestKept - 1;
      if (!canReplay) {
        send(socket, snapshot());
        return;
      }
      for (const text of history.slice(resume.since - oldestKept + 1)) send(socket, text);
    },
    close() {
      clearInterval(heartbeat);
      for (const socket of [...clients.keys()]) drop(socket, 'shutdown');
    },
  };
}

function liveMetrics(registry: Registry) {
  return {
    clients: new Gauge({
      name: 'live_clients',
      help: 'WebSocket clients connected to the live feed now.',
      registers: [registry],
    }),
    sent: new Counter({
      name: 'live_messages_sent_total',
      help: 'Messages sent to live feed clients (one per client).',
      registers: [registry],
    }),
    dropped: new Counter({
      name: 'live_clients_dropped_total',
      help: 'Live feed clients closed by the server, by reason (slow, heartbeat, shutdown).',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
}
