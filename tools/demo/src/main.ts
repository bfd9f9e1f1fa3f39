#!/usr/bin/env node
import { DEMOS } from './demos.js';

/** `npm run demo -- <name>`: runs one demo; without a known name, lists them (exit 2). */
async function main(): Promise<number> {
  const name = process.argv[2];
  const demo = name === undefined ? undefined : DEMOS[name];
  if (!demo) {
    const list = Object.entries(DEMOS)
      .map(([demoName, { summary }]) => `  ${demoName.padEnd(12)} ${summary}`)
      .join('\n');
    process.stderr.write(
      `${name === undefined ? 'Name a demo' : `No demo named ${JSON.stringify(name)}`}: npm run demo -- <name>\n${list}\n`,
    );
    return 2;
  }
  await demo.run();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
