import { openSlowSocket, type SlowPart, type SlowSocketResult } from '@switchboard/testing';
import { withCleanup } from '../cleanup.js';
import type { Demo } from '../demos.js';
import { machineLine, ms, say } from '../narrate.js';
import { formatTable, quantile } from '../table.js';
import { forMs, timeCalls, type TimedCalls } from '../timed-calls.js';
import { startTopology } from '../topology.js';

// Slowloris: clients that open a socket and send their request a byte at a time, never
// finishing it, to hold the server's sockets. purchase's HTTP edge (ADR 18) gives a client
// headersTimeout for its request line and headers and requestTimeout for the whole request,
// checked every second: each slow socket is closed at its timeout, and normal requests,
// timed alone first and then beside the slow sockets, do not notice.

const SKU = 'sku-demo';
const TIMEOUT_MS: Record<SlowPart, number> = { headers: 4_000, body: 6_000 };
const SLOW_SOCKETS_EACH = 100;
const TRICKLE_MS = 1_000;
const CLIENTS = 4;
const BASELINE_MS = 3_000;
/** ADR 18: a slow socket is closed within this long after its timeout. */
const CLOSE_MARGIN_MS = 2_000;

/** Normal reads, CLIENTS at a time, until `until()`. */
function normalReads(port: number, until: () => boolean): Promise<TimedCalls> {
  return timeCalls(
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/v1/stock/${SKU}`);
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    },
    { concurrency: CLIENTS, until },
  );
}

export const slowlorisDemo: Demo = {
  summary:
    "slow sockets against purchase's public port: closed at their timeouts, normal latency unchanged",
  run: () =>
    withCleanup(async (stack) => {
      const topology = await startTopology(stack, [{ sku: SKU, name: 'Demo', onHand: 1e9 }]);
      const purchase = await topology.startPurchase({
        HTTP_HEADERS_TIMEOUT_MS: String(TIMEOUT_MS.headers),
        HTTP_REQUEST_TIMEOUT_MS: String(TIMEOUT_MS.body),
        HTTP_CONNECTIONS_CHECK_INTERVAL_MS: '1000',
      });
      const port = purchase.ready.httpPort;
      say(
        `   edge limits: headersTimeout ${TIMEOUT_MS.headers} ms, requestTimeout ${TIMEOUT_MS.body} ms, checked every 1000 ms`,
      );
      await normalReads(port, forMs(1_000)); // warm-up, untimed

      say(`\n1. Baseline: ${CLIENTS} clients reading stock for ${BASELINE_MS / 1000} s...`);
      const baseline = await normalReads(port, forMs(BASELINE_MS));
      say(`   ${baseline.latencies.length} reads, p99 ${ms(quantile(baseline.latencies, 0.99))}`);

      say(
        `2. Opening ${SLOW_SOCKETS_EACH} sockets that dribble their headers and ${SLOW_SOCKETS_EACH} that dribble their body, a byte every ${TRICKLE_MS} ms, while the clients read on...`,
      );
      const slow: Promise<SlowSocketResult>[] = [];
      for (const part of ['headers', 'body'] as const) {
        for (let i = 0; i < SLOW_SOCKETS_EACH; i++) {
          slow.push(openSlowSocket({ port, part, trickleMs: TRICKLE_MS }));
        }
      }
      let allClosed = false;
      const closing = Promise.all(slow).finally(() => (allClosed = true));
      const [underAttack, results] = await Promise.all([
        normalReads(port, () => allClosed),
        closing,
      ]);
      say(`   all ${results.length} slow sockets closed by purchase; the reads stopped with them`);

      const readRow = (phase: string, timed: TimedCalls) => [
        phase,
        String(timed.latencies.length),
        String(timed.failures),
        ms(quantile(timed.latencies, 0.5)),
        ms(quantile(timed.latencies, 0.99)),
      ];
      /** How long after its timeout each slow socket of a part was closed. */
      const lateness = (part: SlowPart) =>
        results
          .filter((result) => result.part === part && !result.failed)
          .map((result) => result.closedAt - result.firstByteAt - TIMEOUT_MS[part]);
      const slowRow = (part: SlowPart) => {
        const ofPart = results.filter((result) => result.part === part);
        const connected = ofPart.filter((result) => !result.failed);
        const lifetimes = connected.map((result) => result.closedAt - result.firstByteAt);
        return [
          `slow ${part}`,
          String(ofPart.length),
          String(connected.length),
          String(connected.filter((result) => result.answered).length),
          ms(quantile(lifetimes, 0.5), 0),
          ms(quantile(lifetimes, 1), 0),
          `${part === 'headers' ? 'headersTimeout' : 'requestTimeout'} ${TIMEOUT_MS[part]} ms`,
          ms(quantile(lateness(part), 1), 0),
        ];
      };
      say('');
      say(
        formatTable(
          ['normal reads', 'reads', 'failed', 'p50', 'p99'],
          [readRow('alone (baseline)', baseline), readRow('beside the slow sockets', underAttack)],
        ),
      );
      say('');
      say(
        formatTable(
          [
            'slow sockets',
            'opened',
            'closed by the server',
            'answered 408 first',
            'open to close p50',
            'max',
            'configured timeout',
            'closed after its timeout, at most',
          ],
          [slowRow('headers'), slowRow('body')],
        ),
      );
      say(machineLine());
      const latest = Math.max(...lateness('headers'), ...lateness('body'));
      say(
        `\nEvery slow socket was closed at most ${latest.toFixed(0)} ms after its timeout, by the first check after it (ADR 18 promises within ${CLOSE_MARGIN_MS} ms); normal reads' p99 was ${ms(quantile(underAttack.latencies, 0.99))} beside them, ${ms(quantile(baseline.latencies, 0.99))} alone.`,
      );
    }),
};
