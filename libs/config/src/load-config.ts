/**
 * Typed configuration from environment variables. Every variable is read through a Field;
 * loadConfig reads them all and, if any is bad, throws one ConfigError naming every problem,
 * so an operator fixes the deployment in one go instead of one restart per typo.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export interface Field<T> {
  readonly name: string;
  readonly description: string;
  /** Returns the value, or a sentence that says what is wrong with the raw text. */
  parse(raw: string | undefined): { ok: true; value: T } | { ok: false; problem: string };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type ValuesOf<S> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export function loadConfig<S extends Record<string, Field<unknown>>>(
  env: Env,
  spec: S,
): ValuesOf<S> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, field] of Object.entries(spec)) {
    const raw = env[field.name];
    const result = field.parse(raw === '' ? undefined : raw);
    if (result.ok) values[key] = result.value;
    else problems.push(`${field.name}: ${result.problem}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return values as ValuesOf<S>;
}

interface Common<T> {
  /** Used when the variable is unset or empty; without it the variable is required. */
  default?: T;
  description?: string;
}

/** A field with its own conversion; return { problem } to reject the raw text. */
export function custom<T>(
  name: string,
  options: Common<T>,
  convert: (raw: string) => T | { problem: string },
): Field<T> {
  return {
    name,
    description: options.description ?? '',
    parse(raw) {
      if (raw === undefined) {
        if (options.default !== undefined) return { ok: true, value: options.default };
        return { ok: false, problem: 'is required but not set' };
      }
      const converted = convert(raw);
      if (typeof converted === 'object' && converted !== null && 'problem' in converted) {
        return { ok: false, problem: `${converted.problem} (got "${raw}")` };
      }
      return { ok: true, value: converted };
    },
  };
}

export function string(name: string, options: Common<string> = {}): Field<string> {
  return custom(name, options, (raw) => raw);
}

export function integer(
  name: string,
  options: Common<number> & { min?: number; max?: number } = {},
): Field<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return custom(name, options, (raw) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
      return { problem: 'must be a whole number' };
    }
    if (value < min || value > max) return { problem: `must be between ${min} and ${max}` };
    return value;
  });
}

export function port(name: string, options: Common<number> = {}): Field<number> {
  return integer(name, { ...options, min: 0, max: 65535 });
}

export function url(
  name: string,
  options: Common<string> & { protocols?: readonly string[] } = {},
): Field<string> {
  return custom(name, options, (raw) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      return { problem: 'must be a URL' };
    }
    const protocol = parsed.protocol.replace(/:$/, '');
    if (options.protocols && !options.protocols.includes(protocol)) {
      return { problem: `must be a URL with scheme ${options.protocols.join(' or ')}` };
    }
    return raw;
  });
}

export function oneOf<const T extends string>(
  name: string,
  values: readonly T[],
  options: Common<T> = {},
): Field<T> {
  return custom(name, options, (raw) =>
    (values as readonly string[]).includes(raw)
      ? (raw as T)
      : { problem: `must be one of ${values.join(', ')}` },
  );
}
