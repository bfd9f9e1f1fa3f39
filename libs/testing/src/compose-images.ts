import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** The repository root: this file is libs/testing/{src,dist}/compose-images.*. */
export const REPO_ROOT = join(import.meta.dirname, '../../..');

interface ComposeFile {
  services: Record<string, { image?: string; build?: string | { context: string } }>;
}

/**
 * The image docker-compose.yml gives a service, so the tests run the very images the
 * system runs with and a version bump in compose moves the tests along. For a service compose
 * builds from a directory of deploy/ (nats: the upstream image run as a non-root user), it is
 * the image that Dockerfile starts FROM: tests need no build, and still follow a version bump.
 * The services' own images (built from the repository root) are not meant here.
 */
export function composeImage(service: string): string {
  const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as ComposeFile;
  const entry = compose.services[service];
  if (typeof entry?.build === 'string') return baseImageOf(join(REPO_ROOT, entry.build));
  const image = entry?.image;
  if (!image) throw new Error(`docker-compose.yml names no image for service "${service}"`);
  return image;
}

/** The image of a Dockerfile's first FROM line. */
function baseImageOf(buildDirectory: string): string {
  const dockerfile = readFileSync(join(buildDirectory, 'Dockerfile'), 'utf8');
  const from = /^FROM\s+(\S+)/m.exec(dockerfile)?.[1];
  if (!from) throw new Error(`${buildDirectory}/Dockerfile has no FROM line`);
  return from;
}
