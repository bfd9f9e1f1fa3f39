import { Counter, type Registry } from 'prom-client';

/**
 * One set of counters per registry, labelled by stream: a process with several senders or
 * receivers shares them (prom-client refuses a second metric of the same name).
 */
function counter(registry: Registry, name: string, help: string, labelNames: string[]) {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function senderMetrics(registry: Registry) {
  return {
    sent: counter(
      registry,
      'datagrams_sent_total',
      'Datagrams sent, by stream and kind (data, heartbeat), one per subscriber.',
      ['stream', 'kind'],
    ),
    sendErrors: counter(
      registry,
      'datagram_send_errors_total',
      'Datagrams not sent: the subscriber refused them (ICMP port unreachable), or its socket was reconnecting.',
      ['stream'],
    ),
  };
}

export function receiverMetrics(registry: Registry) {
  return {
    received: counter(
      registry,
      'datagrams_received_total',
      'Datagrams received and accepted, by stream and kind (data, heartbeat).',
      ['stream', 'kind'],
    ),
    lost: counter(
      registry,
      'datagrams_lost_total',
      'Datagrams that never arrived, counted from the gaps in the sequence numbers.',
      ['stream'],
    ),
    gaps: counter(
      registry,
      'datagram_gaps_total',
      'Gaps in the sequence numbers (one or more datagrams lost in a row).',
      ['stream'],
    ),
    stale: counter(
      registry,
      'datagrams_stale_total',
      'Data datagrams dropped for arriving after a later one (reordered or duplicated).',
      ['stream'],
    ),
    rejected: counter(
      registry,
      'datagrams_rejected_total',
      'Datagrams refused as malformed, by reason (too_short, too_long, version, kind, length, field, payload).',
      ['stream', 'reason'],
    ),
    resyncs: counter(
      registry,
      'datagram_resyncs_total',
      'Snapshots read to resynchronise, by reason (gap, epoch, overflow) and outcome (ok, failed).',
      ['stream', 'reason', 'outcome'],
    ),
  };
}
