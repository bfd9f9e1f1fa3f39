import { Gauge, type Registry } from 'prom-client';

export interface RetryAfterOptions {
  /** Names the limiter whose refusals these are, in metrics. */
  name: string;
  registry: Registry;
  /** The shortest Retry-After, in whole seconds (HTTP's unit). */
  minSeconds: number;
  /** The longest: a client told more might give up, or its own timeout might. */
  maxSeconds: number;
  /** How many refused clients may come back per second, at most, when all wait as told. */
  returnsPerSecond: number;
  /** A monotonic clock in ms; tests pass their own. Default: performance.now. */
  now?: () => number;
}

export interface RetryAfter {
  /** The Retry-After for a refusal now, in seconds; counts that client as away until then. */
  refuse(): number;
  /** How many refused clients are waiting out their Retry-After now. */
  readonly away: number;
}

/**
 * A Retry-After that grows with the crowd it turns away (ADR 11).
 *
 * Why: a fixed "Retry-After: 1" brings every refused client back each second. With N of them
 * that is N refusals a second, each costing a parse and an answer on the same cores as the
 * admitted work: at 4,096 clients the refusals alone took half the machine and goodput fell to
 * 40 %. Told to wait longer when more are waiting, the crowd comes back at a rate we choose.
 *
 * How: the refused clients still waiting out their Retry-After are counted (`away`). If each
 * is told to wait `s` seconds, they come back at about `away / s` a second (Little's law); so
 * `s = away / returnsPerSecond`, rounded up, between the bounds. A client that comes back and
 * is refused again is counted once: its earlier wait is over. When the crowd leaves, `away`
 * drains as waits end, and the Retry-After falls back to `minSeconds` by itself.
 */
export function createRetryAfter(options: RetryAfterOptions): RetryAfter {
  const { name, minSeconds, maxSeconds, returnsPerSecond, now = () => performance.now() } = options;
  // Clients coming back, counted by the tenth of a second their wait ends in: a ring with a
  // bucket for each tick a wait can last. Ticks are swept in order as the clock passes them.
  const ticksPerSecond = 10;
  const msPerTick = 1000 / ticksPerSecond;
  const returning = new Array<number>(maxSeconds * ticksPerSecond + 1).fill(0);
  let sweptTick = Math.floor(now() / msPerTick);
  let away = 0;

  /** Forgets the waits that are over: those clients are back, or gone. */
  function sweep(): void {
    const nowTick = Math.floor(now() / msPerTick);
    // Past a whole turn of the ring, every bucket is over: no need to go round twice.
    const from = Math.max(sweptTick + 1, nowTick - returning.length + 1);
    for (let tick = from; tick <= nowTick; tick += 1) {
      const index = tick % returning.length;
      away -= returning[index]!;
      returning[index] = 0;
    }
    if (nowTick > sweptTick) sweptTick = nowTick;
  }

  const secondsFor = (clientsAway: number) =>
    Math.min(maxSeconds, Math.max(minSeconds, Math.ceil(clientsAway / returnsPerSecond)));

  // Read at each scrape, so both fall back while nothing is refused.
  new Gauge({
    name: 'admission_retry_after_seconds',
    help: 'The Retry-After a refusal would be given now: grows with the refused clients away.',
    labelNames: ['limiter'] as const,
    registers: [options.registry],
    collect() {
      sweep();
      this.set({ limiter: name }, secondsFor(away + 1));
    },
  });
  new Gauge({
    name: 'admission_refused_clients_away',
    help: 'Refused clients still waiting out their Retry-After.',
    labelNames: ['limiter'] as const,
    registers: [options.registry],
    collect() {
      sweep();
      this.set({ limiter: name }, away);
    },
  });

  return {
    refuse() {
      sweep();
      const seconds = secondsFor(away + 1);
      // Counted in the tick its wait ends in: swept once the clock has passed that tick.
      const comesBack = sweptTick + seconds * ticksPerSecond - 1;
      returning[comesBack % returning.length]! += 1;
      away += 1;
      return seconds;
    },
    get away() {
      sweep();
      return away;
    },
  };
}
