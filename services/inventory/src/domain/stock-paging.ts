import { isPlainText } from '@switchboard/text';
import { invalidArgument } from './inventory-errors.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

/** 0 means the default; more than the maximum is served as the maximum (AIP-158). */
export function resolvePageSize(pageSize: number): number {
  if (!Number.isInteger(pageSize) || pageSize < 0) {
    throw invalidArgument('ListStock request', [
      { field: 'page_size', message: `must be a whole number from 0 to ${MAX_PAGE_SIZE}` },
    ]);
  }
  if (pageSize === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(pageSize, MAX_PAGE_SIZE);
}

/**
 * The token is the last SKU of the page in base64url: opaque to callers, so the paging key
 * can change without changing the API, and stable while SKUs are added or removed.
 */
export function encodePageToken(lastSku: string): string {
  return Buffer.from(lastSku, 'utf8').toString('base64url');
}

/** The SKU to continue after, or undefined for the first page. */
export function decodePageToken(token: string): string | undefined {
  if (token === '') return undefined;
  const sku = decodeBase64Url(token);
  // Every token we hand out holds a SKU, which is plain text; a NUL would fail in Postgres.
  if (sku === undefined || sku === '' || !isPlainText(sku)) {
    throw invalidArgument('ListStock request', [
      { field: 'page_token', message: 'is not a token this service handed out' },
    ]);
  }
  return sku;
}

function decodeBase64Url(token: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
  const bytes = Buffer.from(token, 'base64url');
  // Node decodes leniently; only a canonical encoding of valid UTF-8 is one of ours.
  if (bytes.toString('base64url') !== token) return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
