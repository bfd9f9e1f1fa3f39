import fc from 'fast-check';

/**
 * Property-based fuzzing of the entry points, with fast-check: arbitraries of hostile input
 * shared by every fuzz file, and one way to run a property (seeded, shrinking, counted).
 *
 * FUZZ_RUNS sets the cases per entry point (100 by default, the budget of `npm test`;
 * `npm run fuzz` uses 10,000). FUZZ_SEED replays a run: a failure prints its seed.
 */
export const DEFAULT_FUZZ_RUNS = 100;

export function fuzzRuns(): number {
  const runs = Number(process.env.FUZZ_RUNS ?? DEFAULT_FUZZ_RUNS);
  return Number.isInteger(runs) && runs > 0 ? runs : DEFAULT_FUZZ_RUNS;
}

function fuzzSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given !== undefined && given !== '') return Number(given) | 0;
  return (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0;
}

/** One entry point's figures, printed after its run. */
export interface FuzzReport {
  entryPoint: string;
  cases: number;
  seed: number;
  seconds: number;
  /** How many cases ended with each outcome (an HTTP status, a gRPC or error code). */
  outcomes: Record<string, number>;
}

/**
 * Runs `check` on `runs` generated values (default: fuzzRuns()). `check` throws when the
 * property does not hold and otherwise returns the case's outcome, which is counted. A
 * failure is shrunk to its smallest form and reported with the seed that replays it.
 */
export async function fuzz<T>(
  entryPoint: string,
  arbitrary: fc.Arbitrary<T>,
  check: (value: T) => Promise<string>,
  options: { runs?: number } = {},
): Promise<FuzzReport> {
  const seed = fuzzSeed();
  const numRuns = options.runs ?? fuzzRuns();
  const outcomes: Record<string, number> = {};
  let cases = 0;
  const started = performance.now();
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (value) => {
      cases += 1;
      const outcome = await check(value);
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }),
    { seed, numRuns },
  );
  const report: FuzzReport = {
    entryPoint,
    cases,
    seed,
    seconds: (performance.now() - started) / 1000,
    outcomes,
  };
  if (details.failed) {
    throw new Error(
      `fuzz ${entryPoint} failed; replay with FUZZ_SEED=${seed}\n` +
        fc.defaultReportMessage(details),
      { cause: details.errorInstance },
    );
  }
  process.stdout.write(`${formatFuzzReport(report)}\n`);
  return report;
}

/** One line per entry point: `[fuzz] <entry>: <cases> cases in <s> s (seed …): 400×12, …`. */
export function formatFuzzReport(report: FuzzReport): string {
  const outcomes = Object.entries(report.outcomes)
    .sort(([, a], [, b]) => b - a)
    .map(([outcome, count]) => `${outcome}×${count}`)
    .join(', ');
  return (
    `[fuzz] ${report.entryPoint}: ${report.cases} cases in ${report.seconds.toFixed(1)} s ` +
    `(seed ${report.seed}): ${outcomes}`
  );
}

/**
 * Characters that have broken parsers, encoders and stores: NUL and other C0/C1 controls,
 * line and paragraph separators, bidirectional controls, a BOM, the replacement character,
 * unpaired surrogates (legal in JSON and JavaScript strings, not in UTF-8), 4-byte
 * characters, right-to-left letters, and the punctuation of JSON, URLs, NATS subjects and SQL.
 */
export const hostileCharacter: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '\u0000',
    '\u0001',
    '\u0007',
    '\t',
    '\n',
    '\r',
    '\u001b',
    '\u007f',
    '\u0085',
    '\u009f',
    '\u00a0',
    '\u2028',
    '\u2029',
    '\u200e',
    '\u200f',
    '\u202e',
    '\u2066',
    '\ufeff',
    '\ufffd',
    '\uffff',
  ),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
  fc.constantFrom('😀', '𝄞', '🇺🇦', '👩‍👩‍👧', 'é', 'e\u0301', 'ß', 'İ', 'ﷺ', '字'),
  fc.constantFrom('ע', 'ב', 'ر', 'ب', 'ی'),
  fc.constantFrom('"', "'", '\\', '/', '%', '.', '*', '>', ' ', ':', ';', '&', '=', '?', '#', '$'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }),
);

/**
 * Any string, weighted to the hostile: hostile characters, any code point, well-known
 * troublemakers, and long runs (past every length limit of the API).
 */
export function hostileString(options: { maxLength?: number } = {}): fc.Arbitrary<string> {
  const maxLength = options.maxLength ?? 40;
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: hostileCharacter, maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        'null',
        'undefined',
        '__proto__',
        'constructor',
        'NaN',
        '-1',
        '0',
        '1e309',
        "'; DROP TABLE orders; --",
        '%00',
        '%ED%A0%80',
        '../../etc/passwd',
        '\u202egnp.exe',
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(
          fc.constantFrom('a', 'é', '😀', '\u0000', '\ud800'),
          fc.integer({ min: 60, max: 5000 }),
        )
        .map(([character, count]) => character.repeat(count)),
    },
  );
}

/** Numbers at and past every boundary: huge, negative, fractional, -0, and not numbers. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -0,
    1,
    -1,
    0.5,
    1.0000001,
    1000,
    1001,
    2 ** 31 - 1,
    2 ** 31,
    2 ** 32,
    2 ** 53,
    2 ** 53 + 2,
    -(2 ** 53),
    Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ),
);

/**
 * A JSON value of any type and shape with hostile strings and numbers in it (NaN and the
 * infinities become null in JSON, as JSON.stringify writes them).
 */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString(),
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(hostileString({ maxLength: 10 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** Raw bytes of any length up to maxLength, weighted to short ones. */
export function garbageBytes(options: { maxLength?: number } = {}): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength: options.maxLength ?? 512 });
}

/** JSON texts no well-behaved client sends: deep nesting, truncation, huge numbers, BOMs. */
export const hostileJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 20_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc
    .integer({ min: 1, max: 20_000 })
    .map((depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)),
  fc.constantFrom(
    '',
    '{',
    '{"customerId":',
    'null',
    '[]',
    '"string"',
    '1e99999',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '\ufeff{}',
    '{"a":1,"a":2}',
    '{"customerId":"c","items":[{"sku":"s","quantity":1e400}]}',
  ),
  hostileString({ maxLength: 200 }),
);
