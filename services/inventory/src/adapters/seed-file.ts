import { readFile } from 'node:fs/promises';
import { parseProducts } from '../domain/product-catalog.js';
import type { Product } from '../domain/types.js';

/** Reads a seed file: a JSON array of { "sku", "name", "onHand" }. Errors name the file. */
export async function readSeedFile(path: string): Promise<Product[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read seed file ${path}: ${messageOf(error)}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`seed file ${path} is not valid JSON: ${messageOf(error)}`, { cause: error });
  }
  try {
    return parseProducts(json);
  } catch (error) {
    throw new Error(`seed file ${path}: ${messageOf(error)}`, { cause: error });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
