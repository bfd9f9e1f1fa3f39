/**
 * The problem with a limit range, if any, in the words of the services' variables
 * (ADMISSION_MIN_LIMIT, ADMISSION_INITIAL_LIMIT, ADMISSION_MAX_LIMIT), for their config checks.
 */
export function limitRangeProblem(limits: {
  minLimit: number;
  initialLimit: number;
  maxLimit: number;
}): string | undefined {
  const { minLimit, initialLimit, maxLimit } = limits;
  if (minLimit <= initialLimit && initialLimit <= maxLimit) return undefined;
  return `ADMISSION_MIN_LIMIT (${minLimit}) <= ADMISSION_INITIAL_LIMIT (${initialLimit}) <= ADMISSION_MAX_LIMIT (${maxLimit}) must hold: the limit starts, and stays, between its bounds`;
}
