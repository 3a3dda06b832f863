/**
 * A small, strict command-line parser: declared options only, typed values, clear errors.
 *
 * @example
 * const spec = { port: { type: 'port', short: 'p', description: 'port', default: 3000 } } as const satisfies OptionSpecs;
 * const { options } = parseArgs(spec, ['--port', '8080']); // options.port === 8080
 */

/** What a single flag accepts. `port` is an integer in 0..65535, `number` a finite number. */
export interface OptionSpec {
  readonly type: 'string' | 'number' | 'port' | 'boolean';
  readonly description: string;
  readonly short?: string;
  /** Name of the value in help output, e.g. `URL`. */
  readonly valueName?: string;
  readonly choices?: readonly string[];
  /** May be given more than once (and as a comma-separated list); the value is a string array. */
  readonly multiple?: boolean;
  readonly default?: string | number | boolean;
  /** The default as help shows it, for one decided at run time (an environment variable, another flag). */
  readonly defaultText?: string;
  /** Environment variable read when the flag is absent (the command reads it; help shows it). */
  readonly env?: string;
  readonly min?: number;
  readonly max?: number;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'string'
    ? S['multiple'] extends true ? string[] : string
    : number;

/** Parsed options: every declared option, `undefined` when absent and without a default. */
export type ParsedOptions<O extends OptionSpecs> = {
  -readonly [K in keyof O]: O[K] extends { default: unknown } ? ValueOf<O[K]> : ValueOf<O[K]> | undefined;
};

export interface Parsed<O extends OptionSpecs> {
  options: ParsedOptions<O>;
  positionals: string[];
}

/** A mistake in the command line; the CLI prints the message and exits with status 2. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE';
  constructor(message: string, readonly command?: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const NAME = /^[a-z][a-z0-9-]*$/;

/** Parses `argv` against `specs`. Throws {@link UsageError} and nothing else. */
export function parseArgs<O extends OptionSpecs>(specs: O, argv: readonly string[], command?: string): Parsed<O> {
  const byShort = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) if (spec.short) byShort.set(spec.short, name);
  const values = new Map<string, string | number | boolean | string[]>();
  const positionals: string[] = [];
  const fail = (message: string): never => { throw new UsageError(message, command); };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') { positionals.push(...argv.slice(i + 1)); break; }
    if (arg.length < 2 || !arg.startsWith('-')) { positionals.push(arg); continue; }

    let name: string;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else {
      const short = arg.slice(1, 2);
      const mapped = byShort.get(short);
      if (mapped === undefined) fail(`unknown option -${printable(short)}`);
      name = mapped!;
      inline = arg.length > 2 ? arg.slice(2).replace(/^=/, '') : undefined;
    }
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec || !NAME.test(name)) {
      const hint = suggest(name, Object.keys(specs));
      fail(`unknown option --${printable(name)}${hint ? ` (did you mean --${hint}?)` : ''}`);
    }
    if (spec!.type === 'boolean') {
      if (inline !== undefined) {
        if (inline !== 'true' && inline !== 'false') fail(`--${name} takes no value (got "${printable(inline)}")`);
        values.set(name, inline === 'true');
      } else values.set(name, true);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-\d/.test(next))) {
        fail(`--${name} needs a value${spec!.valueName ? ` (${spec!.valueName})` : ''}`);
      }
      raw = next!;
      i++;
    }
    const value = convert(name, spec!, raw!, fail);
    if (spec!.multiple) {
      const list = (values.get(name) as string[] | undefined) ?? [];
      list.push(...String(value).split(',').map((s) => s.trim()).filter(Boolean));
      values.set(name, list);
    } else values.set(name, value);
  }

  const options: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = values.has(name) ? values.get(name) : spec.multiple && spec.default !== undefined ? [spec.default] : spec.default;
  }
  return { options: options as ParsedOptions<O>, positionals };
}

function convert(name: string, spec: OptionSpec, raw: string, fail: (m: string) => never): string | number {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) {
      fail(`--${name} must be one of ${spec.choices.join(', ')} (got "${printable(raw)}")`);
    }
    return raw;
  }
  const n = raw.trim() === '' ? NaN : Number(raw);
  if (spec.type === 'port') {
    if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${name} must be a port number 0-65535 (got "${printable(raw)}")`);
    return n;
  }
  if (!Number.isFinite(n)) fail(`--${name} must be a number (got "${printable(raw)}")`);
  if (spec.min !== undefined && n < spec.min) fail(`--${name} must be at least ${spec.min} (got ${n})`);
  if (spec.max !== undefined && n > spec.max) fail(`--${name} must be at most ${spec.max} (got ${n})`);
  return n;
}

/** Keeps control characters from user input out of error messages. */
function printable(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 60 ? `${clean.slice(0, 57)}...` : clean;
}

/** The closest declared name within an edit distance of 2, to catch typos. */
function suggest(name: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of names) {
    const d = distance(name, candidate);
    if (d < bestDistance) { best = candidate; bestDistance = d; }
  }
  return best;
}

function distance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}

/** Renders the options block of a help page. */
export function formatOptions(specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.type === 'boolean' ? '' : ` <${spec.valueName ?? spec.type.toUpperCase()}>`}`;
    const extra = [
      spec.choices ? `one of: ${spec.choices.join(', ')}` : '',
      spec.multiple ? 'repeatable' : '',
      spec.defaultText !== undefined ? `default: ${spec.defaultText}` : spec.default !== undefined && spec.type !== 'boolean' ? `default: ${spec.default}` : '',
      spec.env ? `env ${spec.env}` : '',
    ].filter(Boolean).join('; ');
    return [flag, `${spec.description}${extra ? ` (${extra})` : ''}`] as const;
  });
  const width = Math.max(...rows.map(([f]) => f.length)) + 2;
  return rows.map(([f, d]) => `  ${f.padEnd(width)}${d}`).join('\n');
}
