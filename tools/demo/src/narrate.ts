import { availableParallelism, loadavg } from 'node:os';

/** A line of the demo's narration, on stdout beside its table. */
export function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds as the tables print them; "-" for none. */
export function ms(value: number | undefined, digits = 1): string {
  return value === undefined || Number.isNaN(value) ? '-' : `${value.toFixed(digits)} ms`;
}

/** The machine the figures come from: on a shared machine, its load moves them. */
export function machineLine(): string {
  const load = loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
  return `(machine: ${availableParallelism()} cores, load average ${load}: on a busy machine the latencies say as much about it as about the sockets)`;
}
