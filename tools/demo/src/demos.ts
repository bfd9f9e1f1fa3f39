import { leakDemo } from './demos/leak.js';
import { multiplexingDemo } from './demos/multiplexing.js';
import { udpDemo } from './demos/udp.js';

/** A demo: what it shows, in one line, and how to run it (it prints its own summary table). */
export interface Demo {
  summary: string;
  run(): Promise<void>;
}

/** Every demo, by the name `npm run demo -- <name>` takes. Add yours here. */
export const DEMOS: Record<string, Demo> = {
  udp: udpDemo,
  multiplexing: multiplexingDemo,
  leak: leakDemo,
};
