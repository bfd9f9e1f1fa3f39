/** closed: calls flow; open: calls are refused at once; half_open: one trial call may pass. */
export const CIRCUIT_STATES = ['closed', 'open', 'half_open'] as const;
export type CircuitState = (typeof CIRCUIT_STATES)[number];
