import { ConfigError } from './load-config.js';

/** A duration, named as the operator sets it (an env var, or a sum of them). */
export interface Duration {
  name: string;
  ms: number;
}

/**
 * Settings that are each fine alone can still clash: HTTP keep-alive shorter than the load
 * balancer's idle timeout, a stop deadline shorter than the requests it must let finish.
 * Returns the sentence that says so, or undefined when `longer` is indeed longer.
 */
export function mustExceed(longer: Duration, shorter: Duration, why: string): string | undefined {
  if (longer.ms > shorter.ms) return undefined;
  return `${longer.name} (${longer.ms} ms) must be longer than ${shorter.name} (${shorter.ms} ms): ${why}`;
}

/**
 * Like mustExceed, where equal is enough: a retention that must cover a period, such as an
 * inbox that must remember message ids as long as the stream can deliver the message again.
 */
export function mustBeAtLeast(
  longer: Duration,
  shorter: Duration,
  why: string,
): string | undefined {
  if (longer.ms >= shorter.ms) return undefined;
  return `${longer.name} (${longer.ms} ms) must be at least ${shorter.name} (${shorter.ms} ms): ${why}`;
}

/** Throws one ConfigError naming every disagreement, like loadConfig does for single values. */
export function assertSettingsAgree(problems: readonly (string | undefined)[]): void {
  const found = problems.filter((problem): problem is string => problem !== undefined);
  if (found.length > 0) throw new ConfigError(found);
}
