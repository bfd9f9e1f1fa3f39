import { describe, expect, it } from 'vitest';
import { render } from '../src/render.js';
import { parseServiceName, type ServiceName } from '../src/service-name.js';

const names = parseServiceName('order-history') as ServiceName;

describe('render', () => {
  it('replaces each placeholder with its spelling of the name', () => {
    expect(render('{{name}} {{snake}} {{Pascal}}Service {{camel}}V1', names)).toBe(
      'order-history order_history OrderHistoryService orderHistoryV1',
    );
  });

  it('throws on a placeholder it does not know, rather than leave it in a file', () => {
    expect(() => render('{{name}} {{title}}', names)).toThrow('unknown placeholder {{title}}');
  });
});
