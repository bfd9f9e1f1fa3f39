import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** The repository root: this file is libs/testing/{src,dist}/compose-images.*. */
export const REPO_ROOT = join(import.meta.dirname, '../../..');

interface ComposeFile {
  services: Record<string, { image?: string }>;
}

/**
 * The image docker-compose.yml gives a service, so the tests run the very images the
 * system runs with and a version bump in compose moves the tests along.
 */
export function composeImage(service: string): string {
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as ComposeFile;
  const image = compose.services[service]?.image;
  if (!image) throw new Error(`docker-compose.yml names no image for service "${service}"`);
  return image;
}
