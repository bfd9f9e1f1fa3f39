import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { render } from './render.js';
import { addToCommaList, appendToTopLevelBlock, insertAfterLastMatch } from './repo-edits.js';
import type { ServiceName } from './service-name.js';

const TEMPLATES = join(import.meta.dirname, '..', 'templates');
const TEMPLATE_SUFFIX = '.tmpl';
// Files whose name starts with a dot would be hidden in the templates folder; their template
// is named without it.
const DOTFILES = new Set(['prettierignore']);

/** What the generator wrote: new files and changed ones, relative to the repository root. */
export interface GeneratedFiles {
  created: string[];
  changed: string[];
}

/**
 * Writes a new service NAME into the repository at `root`: its folder from the templates, its
 * proto and Kubernetes manifest, and its entries in the files every service shares. Refuses,
 * changing nothing, if the service exists already.
 */
export async function generateService(root: string, names: ServiceName): Promise<GeneratedFiles> {
  const { name, snake } = names;
  const serviceDir = join('services', name);
  const proto = join('libs/contracts/proto/switchboard', snake, 'v1', `${snake}.proto`);
  const manifest = join('deploy/kubernetes/base', `${name}.yaml`);
  for (const path of [serviceDir, proto, manifest]) {
    if (existsSync(join(root, path))) throw new Error(`${path} exists already`);
  }
  const template = async (path: string) =>
    render(await readFile(join(TEMPLATES, path), 'utf8'), names);

  const created: string[] = [];
  const create = async (path: string, text: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text, { flag: 'wx' });
    created.push(path);
  };
  for (const path of await templateFiles('service')) {
    await create(join(serviceDir, destinationName(path)), await template(join('service', path)));
  }
  await create(proto, await template('contracts/service.proto.tmpl'));
  await create(manifest, await template('deploy/kubernetes.yaml.tmpl'));

  const changed: string[] = [];
  const change = async (path: string, edit: (text: string) => string) => {
    const text = await readFile(join(root, path), 'utf8');
    await writeFile(join(root, path), edit(text));
    changed.push(path);
  };
  const exportLine = await template('contracts/index-export.ts.tmpl');
  await change('libs/contracts/src/index.ts', (text) => text + exportLine);
  const composeService = await template('deploy/compose-service.yml.tmpl');
  await change('docker-compose.yml', (text) => {
    let edited = appendToTopLevelBlock(text, 'services', composeService);
    // dev-certs makes the service's certificate into a volume only the service mounts.
    edited = addToCommaList(edited, 'DEV_CERTS_SERVICES', name);
    edited = insertAfterLastMatch(
      edited,
      /^ {6}- [a-z0-9-]+-secrets:\/certs\/[a-z0-9-]+$/,
      `      - ${name}-secrets:/certs/${name}`,
    );
    return appendToTopLevelBlock(edited, 'volumes', `  ${name}-secrets:`);
  });
  const prometheusJob = await template('deploy/prometheus-job.yml.tmpl');
  await change('deploy/prometheus/prometheus.yml', (text) =>
    appendToTopLevelBlock(text, 'scrape_configs', prometheusJob),
  );
  await change('deploy/kubernetes/base/kustomization.yaml', (text) =>
    appendToTopLevelBlock(text, 'resources', `  - ${name}.yaml`),
  );
  for (const overlay of ['development', 'production']) {
    const image = await template(`deploy/image-${overlay}.yaml.tmpl`);
    await change(`deploy/kubernetes/overlays/${overlay}/kustomization.yaml`, (text) =>
      appendToTopLevelBlock(text, 'images', image),
    );
  }
  return { created, changed };
}

/** The template files under templates/<folder>, relative to it. */
async function templateFiles(folder: string): Promise<string[]> {
  const base = join(TEMPLATES, folder);
  const entries = await readdir(base, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith(TEMPLATE_SUFFIX))
    .map((entry) => relative(base, join(entry.parentPath, entry.name)))
    .sort();
}

/** `src/app.ts.tmpl` becomes `src/app.ts`; `prettierignore.tmpl` becomes `.prettierignore`. */
function destinationName(templatePath: string): string {
  const path = templatePath.slice(0, -TEMPLATE_SUFFIX.length);
  const file = path.split('/').at(-1)!;
  return DOTFILES.has(file) ? join(dirname(path), `.${file}`) : path;
}
