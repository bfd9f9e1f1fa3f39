import { describe, expect, it } from 'vitest';
import { UsageError, parseCommand } from '../src/command.js';

describe('the command line', () => {
  it('reads list with its filters, replay with its sequence and replay-all', () => {
    expect(parseCommand(['list', '--stream', 'ORDERS', '--limit', '5'])).toEqual({
      name: 'list',
      stream: 'ORDERS',
      consumer: undefined,
      limit: 5,
    });
    expect(parseCommand(['replay', '42'])).toEqual({ name: 'replay', sequence: 42 });
    expect(parseCommand(['replay-all', '--consumer', 'inventory-orders'])).toMatchObject({
      name: 'replay-all',
      consumer: 'inventory-orders',
    });
  });

  it('refuses what it cannot do, naming the problem', () => {
    for (const [argv, problem] of [
      [[], 'no command'],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['replay', 'seven'], 'the sequence must be a positive integer'],
      [['replay', '0'], 'the sequence must be a positive integer'],
      [['replay', '1', '--stream', 'ORDERS'], 'replay takes a sequence only'],
      [['list', '--limit', '0'], '--limit must be a positive integer'],
      [['replay-all', '--limit', '3'], 'replay-all takes no --limit'],
      [['list', '--colour'], 'Unknown option'],
    ] as const) {
      expect(() => parseCommand([...argv])).toThrow(UsageError);
      expect(() => parseCommand([...argv])).toThrow(problem);
    }
  });
});
