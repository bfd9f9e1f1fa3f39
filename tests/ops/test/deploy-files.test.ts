/**
 * The files of deploy/: Prometheus's config and alert rules pass promtool (the rules also
 * their unit tests), and Grafana's provisioning and dashboards are well formed. Grafana itself
 * does not run here; which metrics the dashboards may name is checked against live services
 * in metrics.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '@switchboard/testing';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { promtool } from './support/promtool.js';

const PROMETHEUS_DIR = join(REPO_ROOT, 'deploy/prometheus');
const GRAFANA_DIR = join(REPO_ROOT, 'deploy/grafana');

describe('deploy/prometheus', () => {
  it('passes promtool check config, with the rule files it names', () => {
    const result = promtool(['check', 'config', 'prometheus.yml'], { mount: PROMETHEUS_DIR });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('SUCCESS: 1 rule files found');
  });

  it('passes promtool check rules', () => {
    const result = promtool(['check', 'rules', 'rules/switchboard.yml'], { mount: PROMETHEUS_DIR });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('has alerts for a target down, the error ratio, p99 latency, the outbox backlog, reconnect storms and persistent shedding, and they fire as their unit tests say', () => {
    const rules = parse(readFileSync(join(PROMETHEUS_DIR, 'rules/switchboard.yml'), 'utf8')) as {
      groups: { rules: { alert?: string }[] }[];
    };
    const alerts = rules.groups.flatMap((group) => group.rules.map((rule) => rule.alert));
    expect(alerts).toEqual(
      expect.arrayContaining([
        'TargetDown',
        'HttpErrorRatioHigh',
        'GrpcServerErrorRatioHigh',
        'HttpLatencyP99High',
        'GrpcServerLatencyP99High',
        'OutboxBacklog',
        'NatsReconnectStorm',
        'GrpcReconnectStorm',
        'AdmissionSheddingPersists',
      ]),
    );
    const result = promtool(['test', 'rules', 'tests/switchboard.test.yml'], {
      mount: PROMETHEUS_DIR,
    });
    expect(result.status, result.output).toBe(0);
  });
});

describe('deploy/grafana', () => {
  const datasources = parse(
    readFileSync(join(GRAFANA_DIR, 'provisioning/datasources/prometheus.yml'), 'utf8'),
  ) as { datasources: { uid: string; type: string; url: string }[] };
  const dashboardFiles = readdirSync(join(GRAFANA_DIR, 'dashboards')).filter((file) =>
    file.endsWith('.json'),
  );

  it('provisions the Prometheus of docker-compose.yml as a datasource, and the dashboards folder', () => {
    expect(datasources.datasources).toEqual([
      expect.objectContaining({
        uid: 'prometheus',
        type: 'prometheus',
        url: 'http://prometheus:9090',
      }),
    ]);
    const providers = parse(
      readFileSync(join(GRAFANA_DIR, 'provisioning/dashboards/switchboard.yml'), 'utf8'),
    ) as { providers: { type: string; options: { path: string } }[] };
    const compose = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    for (const provider of providers.providers) {
      expect(compose).toContain(`./deploy/grafana/dashboards:${provider.options.path}:ro`);
    }
  });

  it('has the three dashboards, each valid JSON with a unique uid, every panel on the provisioned datasource', () => {
    expect(dashboardFiles.sort()).toEqual([
      'bus-and-outbox.json',
      'system-overview.json',
      'transports.json',
    ]);
    const uids = new Set<string>();
    for (const file of dashboardFiles) {
      const dashboard = JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards', file), 'utf8')) as {
        uid: string;
        title: string;
        panels: {
          type: string;
          title: string;
          datasource?: { uid: string };
          targets?: { expr: string }[];
        }[];
      };
      expect(dashboard.title, file).toMatch(/^Switchboard: /);
      expect(uids.has(dashboard.uid), `${file}: uid ${dashboard.uid} used twice`).toBe(false);
      uids.add(dashboard.uid);
      const queried = dashboard.panels.filter((panel) => panel.targets);
      expect(queried.length, file).toBeGreaterThan(3);
      for (const panel of queried) {
        expect(panel.datasource?.uid, `${file}: ${panel.title}`).toBe('prometheus');
        for (const target of panel.targets ?? []) expect(target.expr, panel.title).not.toBe('');
      }
    }
  });

  it('shows exemplars on every latency panel, and links their trace ids to the tracing profile', () => {
    // Prometheus keeps exemplars only with the feature on (docker-compose.yml's command).
    const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { command?: string[]; profiles?: string[] }>;
    };
    expect(compose.services.prometheus?.command).toContain('--enable-feature=exemplar-storage');
    // The trace_id of an exemplar opens the trace in the Jaeger of the `tracing` profile.
    const jaeger = parse(
      readFileSync(join(GRAFANA_DIR, 'provisioning/datasources/jaeger.yml'), 'utf8'),
    ) as { datasources: { uid: string; type: string; url: string }[] };
    expect(jaeger.datasources).toEqual([
      expect.objectContaining({ type: 'jaeger', url: 'http://jaeger:16686' }),
    ]);
    expect(compose.services.jaeger?.profiles).toEqual(['tracing']);
    const prometheus = datasources.datasources[0] as unknown as {
      jsonData: { exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[] };
    };
    expect(prometheus.jsonData.exemplarTraceIdDestinations).toEqual([
      { name: 'trace_id', datasourceUid: jaeger.datasources[0]?.uid },
    ]);
    // Every panel over a latency histogram asks for its exemplars.
    const latencyTargets = dashboardFiles.flatMap((file) =>
      (
        JSON.parse(readFileSync(join(GRAFANA_DIR, 'dashboards', file), 'utf8')) as {
          panels: { title: string; targets?: { expr: string; exemplar?: boolean }[] }[];
        }
      ).panels.flatMap((panel) =>
        (panel.targets ?? [])
          .filter(({ expr }) => /(request_duration|handling)_seconds_bucket/.test(expr))
          .map((target) => ({ panel: `${file}: ${panel.title}`, exemplar: target.exemplar })),
      ),
    );
    expect(latencyTargets.length).toBeGreaterThanOrEqual(4);
    expect(latencyTargets.filter((target) => target.exemplar !== true)).toEqual([]);
  });
});
