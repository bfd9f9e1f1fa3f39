/**
 * A histogram's `_sum` and `_count` read from Prometheus text (a scrape of /metrics, or a
 * registry's `getSingleMetricAsString`), for the series whose labels include `label`
 * (`use_case="reserve"`). 0 when the series has no observation yet.
 */
export function histogramSumAndCount(
  metricsText: string,
  name: string,
  label: string,
): { sum: number; count: number } {
  const value = (suffix: 'sum' | 'count') => {
    const line = metricsText
      .split('\n')
      .find((each) => each.startsWith(`${name}_${suffix}{`) && each.includes(label));
    return Number(line?.split(' ').at(-1) ?? 0);
  };
  return { sum: value('sum'), count: value('count') };
}
