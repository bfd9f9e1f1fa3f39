/**
 * Where the time of one purchase goes, from purchase's traces (ADR 17): the request's server
 * span, the Postgres spans before the Reserve (the key claim), the Reserve's client span, the
 * Postgres spans after it (the order saved) and the rest of the request (the answer). Each
 * stage is measured per traced purchase and summarised as its p50 and mean, in ms.
 */
import type { ReceivedSpan } from '@switchboard/testing';
import { percentile } from './measure.js';

export const STAGES = ['HTTP in', 'key claim', 'Reserve', 'order save', 'answer', 'gaps'] as const;
export type Stage = (typeof STAGES)[number] | 'total';

export interface StageFigures {
  p50Ms: number;
  meanMs: number;
}

export interface Breakdown {
  /** Traced purchases that had all their stages. */
  purchases: number;
  stages: Record<Stage, StageFigures>;
}

const isPostgres = (span: ReceivedSpan) =>
  span.attributes['db.system'] === 'postgresql' ||
  span.attributes['db.system.name'] === 'postgresql' ||
  span.name.startsWith('pg');
// gRPC's client span, or the NATS request's producer span.
const isReserve = (span: ReceivedSpan) =>
  /Reserve$/.test(span.name) && (span.kind === 'CLIENT' || span.kind === 'PRODUCER');

export function stageBreakdown(spans: ReceivedSpan[]): Breakdown {
  const byTrace = new Map<string, ReceivedSpan[]>();
  for (const span of spans) {
    if (span.service !== 'purchase') continue;
    byTrace.set(span.traceId, [...(byTrace.get(span.traceId) ?? []), span]);
  }
  const samples = new Map<Stage, number[]>();
  const add = (stage: Stage, ms: number) => samples.set(stage, [...(samples.get(stage) ?? []), ms]);
  let purchases = 0;
  for (const trace of byTrace.values()) {
    const request = trace.find(
      (span) => span.kind === 'SERVER' && span.name === 'POST /v1/purchases',
    );
    const reserve = trace.find(isReserve);
    if (!request || !reserve) continue;
    // The relay publishes the event later in the same trace: only what the request waited for.
    const queries = trace.filter((span) => isPostgres(span) && span.endMs <= request.endMs);
    const claim = queries.filter((span) => span.endMs <= reserve.startMs);
    const save = queries.filter((span) => span.startMs >= reserve.endMs);
    if (claim.length === 0 || save.length === 0) continue;
    purchases += 1;
    const first = (list: ReceivedSpan[]) => Math.min(...list.map((span) => span.startMs));
    const last = (list: ReceivedSpan[]) => Math.max(...list.map((span) => span.endMs));
    const stages: Record<Exclude<Stage, 'gaps' | 'total'>, number> = {
      'HTTP in': first(claim) - request.startMs,
      'key claim': last(claim) - first(claim),
      Reserve: reserve.endMs - reserve.startMs,
      'order save': last(save) - first(save),
      answer: request.endMs - last(save),
    };
    const total = request.endMs - request.startMs;
    for (const [stage, ms] of Object.entries(stages)) add(stage as Stage, ms);
    add('gaps', total - Object.values(stages).reduce((sum, ms) => sum + ms, 0));
    add('total', total);
  }
  const figures = (stage: Stage): StageFigures => {
    const values = (samples.get(stage) ?? []).sort((a, b) => a - b);
    const mean = values.reduce((sum, ms) => sum + ms, 0) / Math.max(1, values.length);
    return { p50Ms: round(percentile(values, 0.5)), meanMs: round(mean) };
  };
  return {
    purchases,
    stages: Object.fromEntries(
      [...STAGES, 'total' as const].map((stage) => [stage, figures(stage)]),
    ) as Record<Stage, StageFigures>,
  };
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
