import { describe, expect, it } from 'vitest';
import { parseServiceName } from '../src/service-name.js';

describe('parseServiceName', () => {
  it('spells a hyphenated name for each place that needs it', () => {
    expect(parseServiceName('order-history')).toEqual({
      name: 'order-history',
      snake: 'order_history',
      Pascal: 'OrderHistory',
      camel: 'orderHistory',
    });
  });

  it.each(['Shipping', 'order_history', '-shipping', 'shipping-', 'order--history', '9lives', ''])(
    'refuses %j, saying what a name may be',
    (raw) => {
      expect(parseServiceName(raw)).toEqual({
        problem: expect.stringContaining('lowercase letters, digits and single hyphens') as string,
      });
    },
  );

  it('refuses the names of the containers and tools that are not services', () => {
    expect(parseServiceName('postgres')).toEqual({
      problem: '"postgres" is taken by a container or tool of its own',
    });
  });
});
