import { describe, expect, it } from 'vitest';
import { exposedMetricNames, metricNamesIn } from './support/promql.js';

describe('the metric names of a PromQL expression', () => {
  it('keeps metric names and drops functions, groupings, matchers, ranges and numbers', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.99, sum by (le, route) (rate(http_server_request_duration_seconds_bucket{job="purchase", status_code=~"5.."}[$__rate_interval]))) > 1',
      ),
    ).toEqual(['http_server_request_duration_seconds_bucket']);
    expect(
      metricNamesIn('sum(rate(a_total[5m])) / on (job) group_left sum(b_total) and up == 0'),
    ).toEqual(['a_total', 'b_total', 'up']);
  });

  it('reads the families of a /metrics text, histograms with their series', () => {
    const names = exposedMetricNames(
      '# HELP x_seconds h\n# TYPE x_seconds histogram\nx_seconds_bucket{le="1"} 1\n# TYPE y_total counter\n',
    );
    expect([...names].sort()).toEqual([
      'x_seconds',
      'x_seconds_bucket',
      'x_seconds_count',
      'x_seconds_sum',
      'y_total',
    ]);
  });
});
