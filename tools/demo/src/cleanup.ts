import { say } from './narrate.js';

/**
 * Runs a demo whose containers, processes and files go on `stack`, and disposes the stack
 * however the demo ends: done, failed, or interrupted (Ctrl-C, SIGTERM), then exits 130.
 */
export async function withCleanup(work: (stack: AsyncDisposableStack) => Promise<void>) {
  const stack = new AsyncDisposableStack();
  const interrupted = (signal: NodeJS.Signals) => {
    say(`\n${signal}: cleaning up...`);
    void stack.disposeAsync().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    await work(stack);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    say('cleaning up...');
    await stack.disposeAsync();
    say('cleaned up: containers, processes and files removed');
  }
}
