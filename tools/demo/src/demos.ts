import { auditDemo } from './demos/audit.js';
import { leakDemo } from './demos/leak.js';
import { multiplexingDemo } from './demos/multiplexing.js';
import { natsDownDemo } from './demos/nats-down.js';
import { slowlorisDemo } from './demos/slowloris.js';
import { transportsDemo } from './demos/transports.js';
import { udpDemo } from './demos/udp.js';

/** A demo: what it shows, in one line, and how to run it (it prints its own summary table). */
export interface Demo {
  summary: string;
  run(): Promise<void>;
}

/** Every demo, by the name `npm run demo -- <name>` takes. Add yours here. */
export const DEMOS: Record<string, Demo> = {
  transports: transportsDemo,
  'nats-down': natsDownDemo,
  slowloris: slowlorisDemo,
  audit: auditDemo,
  multiplexing: multiplexingDemo,
  leak: leakDemo,
  udp: udpDemo,
};
