// The entry point of inventory: the only file that reads the environment. Tracing starts first,
// before anything else is imported: an instrumentation patches a module (pg, fastify) as it
// loads, so the service itself comes in a dynamic import after it (ADR 17).
import { startTelemetry } from '@switchboard/telemetry/start';

const telemetry = await startTelemetry({ service: 'inventory', env: process.env });
const { runInventory } = await import('./run.js');
await runInventory(process.env, telemetry);
