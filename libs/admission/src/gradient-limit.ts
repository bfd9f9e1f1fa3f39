/**
 * The concurrency limit, adapted from the latency of the work it lets through: a gradient
 * limit in the manner of Netflix's Gradient2 (concurrency-limits). Two moving averages of the
 * round-trip time (RTT) are kept: a short one (the last ~10 calls: how things are now) and a
 * long one (the last ~600: how things usually are). While calls take no longer than
 * `rttTolerance` times the usual, the limit grows; when they get slower than that, queues are
 * building somewhere below, and the limit shrinks in proportion, by half at most per step.
 * A call that failed because something below was overloaded shrinks it at once (AIMD's
 * multiplicative decrease), whatever its latency said.
 */
export interface GradientLimitOptions {
  initialLimit: number;
  /** Never below: some work always gets through, so the limit has samples to recover from. */
  minLimit: number;
  /** Never above: the most the resources below can take, whatever latency says. */
  maxLimit: number;
  /** How much slower than usual recent calls may be before the limit shrinks (1.5 = 50 %). */
  rttTolerance?: number;
  /** How far one sample moves the limit toward its new value (0..1); damps oscillation. */
  smoothing?: number;
  /** The factor applied to the limit when a call was dropped below for overload. */
  backoffRatio?: number;
}

export interface GradientLimit {
  /** The current limit; fractional inside, the limiter admits its whole part. */
  readonly value: number;
  /**
   * The fastest of the last few calls, in ms (0 before the first): a call started now will
   * not finish sooner, so one with less time left cannot finish in time.
   */
  readonly fastestRttMs: number;
  /** A call finished normally after `rttMs`; `inFlight` calls ran when it was admitted. */
  onSample(rttMs: number, inFlight: number): void;
  /** A call failed because something below it was overloaded or too slow. */
  onDrop(): void;
}

const SHORT_WINDOW = 10;
/** How many recent latencies the fastest is taken from. */
const FASTEST_OF = 20;
const LONG_WINDOW = 600;

export function createGradientLimit(options: GradientLimitOptions): GradientLimit {
  const { minLimit, maxLimit, rttTolerance = 1.5, smoothing = 0.2, backoffRatio = 0.9 } = options;
  const clamp = (limit: number) => Math.min(maxLimit, Math.max(minLimit, limit));
  let limit = clamp(options.initialLimit);
  const shortRtt = movingAverage(SHORT_WINDOW);
  const longRtt = movingAverage(LONG_WINDOW);
  const recent: number[] = [];

  return {
    get value() {
      return limit;
    },
    get fastestRttMs() {
      return recent.length === 0 ? 0 : Math.min(...recent);
    },
    onSample(rttMs, inFlight) {
      shortRtt.add(rttMs);
      longRtt.add(rttMs);
      recent.push(rttMs);
      if (recent.length > FASTEST_OF) recent.shift();
      // After a slow spell the long average stays high for a long time and would let the limit
      // grow on stale evidence: when calls are now much faster, let it catch up quickly.
      if (longRtt.value > 2 * shortRtt.value) longRtt.scale(0.95);
      // Far below the limit, latency says nothing about it: don't grow a limit nobody uses.
      if (inFlight < limit / 2) return;
      // Calls too fast for the clock to see (0 ms) are as fast as usual.
      const ratio = shortRtt.value > 0 ? (rttTolerance * longRtt.value) / shortRtt.value : 1;
      const gradient = Math.max(0.5, Math.min(1, ratio));
      // sqrt(limit) of headroom: room to find out whether more concurrency would still help.
      const next = limit * gradient + Math.sqrt(limit);
      limit = clamp(limit * (1 - smoothing) + next * smoothing);
    },
    onDrop() {
      limit = clamp(limit * backoffRatio);
    },
  };
}

/** An exponential moving average over about `window` samples; a plain mean until then. */
function movingAverage(window: number) {
  const factor = 2 / (window + 1);
  let value = 0;
  let count = 0;
  return {
    get value() {
      return value;
    },
    add(sample: number) {
      count += 1;
      value = count < window ? value + (sample - value) / count : value + (sample - value) * factor;
    },
    scale(by: number) {
      value *= by;
    },
  };
}
