import type { ServiceName } from './service-name.js';

const PLACEHOLDER = /\{\{(\w+)\}\}/g;

/**
 * A template's text with each `{{name}}`, `{{snake}}`, `{{Pascal}}` and `{{camel}}` replaced by
 * that spelling of the service's name. A placeholder of another name is a mistake in the
 * template, so it throws rather than leave braces in the repository.
 */
export function render(template: string, names: ServiceName): string {
  return template.replace(PLACEHOLDER, (placeholder, key: string) => {
    if (!Object.hasOwn(names, key)) {
      throw new Error(`unknown placeholder ${placeholder} in a template`);
    }
    return names[key as keyof ServiceName];
  });
}
