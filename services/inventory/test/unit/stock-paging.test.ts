import { describe, expect, it } from 'vitest';
import {
  decodePageToken,
  encodePageToken,
  resolvePageSize,
} from '../../src/domain/stock-paging.js';

describe('page size', () => {
  it('is 100 when unset, the asked size up to 500, and 500 above that', () => {
    expect(resolvePageSize(0)).toBe(100);
    expect(resolvePageSize(7)).toBe(7);
    expect(resolvePageSize(500)).toBe(500);
    expect(resolvePageSize(501)).toBe(500);
  });

  it('is INVALID_ARGUMENT when negative', () => {
    expect(() => resolvePageSize(-1)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('page token', () => {
  it('round-trips any SKU, including non-ASCII ones', () => {
    for (const sku of ['sku-red-mug', 'sku/with+odd=chars', 'tasse-größe-ß', '🧦']) {
      const token = encodePageToken(sku);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodePageToken(token)).toBe(sku);
    }
  });

  it('is INVALID_ARGUMENT when it decodes to text that is no SKU (a NUL would fail in Postgres)', () => {
    for (const sku of ['a\u0000b', 'bell\u0007']) {
      expect(() => decodePageToken(encodePageToken(sku)), sku).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });

  it('means the first page when empty', () => {
    expect(decodePageToken('')).toBeUndefined();
  });

  it('is INVALID_ARGUMENT when it is not one we handed out', () => {
    for (const token of ['has spaces', 'padded==', 'wyg', 'c2t1LWE=', 'c2t1LWF']) {
      expect(() => decodePageToken(token), token).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARGUMENT',
          details: { problems: [expect.objectContaining({ field: 'page_token' })] },
        }),
      );
    }
  });
});
