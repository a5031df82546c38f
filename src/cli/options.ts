/**
 * Settings parsing shared by every raidfs command: each command declares its options
 * once (name, type, default, help), and the same declaration drives parsing and the
 * --help text. Every option can be set in four places; the first one that sets it
 * wins:
 *
 *   1. the command line          --rest-token T
 *   2. the environment           RAIDFS_REST_TOKEN=T   (RAIDFS_ + NAME, upper case, - -> _)
 *   3. a JSON config file        --config FILE (or RAIDFS_CONFIG): {"rest-token": "T"}
 *   4. the option's default
 *
 * Invariants: unknown flags and unknown config-file keys are errors (UsageError,
 * exit 2), never ignored; a value of the wrong type is an error naming where it came
 * from; environment variables that are not option names (RAIDFS_LOG, ...) are not
 * looked at here.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MalformedEndpointError, readEndpoint } from '../wire/transport-security';

export interface OptionSpec {
  type: 'string' | 'boolean';
  help: string;
  default?: string;
  short?: string;
}

export interface CommandSpec {
  name: string;
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
}

export type OptionValues = Record<string, string | boolean | undefined>;

/** A mistake in how a command was called: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {}

/** The option every command takes to read its settings from a file. */
const CONFIG_OPTION = 'config';

/** The environment variable that sets option `name`: RAIDFS_REST_TOKEN for rest-token. */
export function envName(name: string): string {
  return `RAIDFS_${name.toUpperCase().replace(/-/g, '_')}`;
}

export function parseCommand(spec: CommandSpec, argv: string[], env: NodeJS.ProcessEnv = process.env): { values: OptionValues; positionals: string[] } {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        [CONFIG_OPTION]: { type: 'string' },
        ...Object.fromEntries(Object.entries(spec.options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const flags = parsed.values as OptionValues;
  const configPath = (flags[CONFIG_OPTION] as string | undefined) ?? env[envName(CONFIG_OPTION)];
  const fromFile = configPath === undefined ? {} : configFileValues(spec, configPath);
  const values: OptionValues = {};
  for (const [name, option] of Object.entries(spec.options)) {
    const fromEnv = env[envName(name)];
    values[name] = flags[name]
      ?? (fromEnv !== undefined ? settingValue(option, fromEnv, envName(name)) : undefined)
      ?? fromFile[name]
      ?? option.default;
  }
  return { values, positionals: parsed.positionals };
}

/** Reads a config file: one JSON object whose keys are option names. */
function configFileValues(spec: CommandSpec, file: string): OptionValues {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`--config ${file}: cannot read it as JSON: ${why}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UsageError(`--config ${file}: expected a JSON object of settings, e.g. {"nodes": 4}`);
  const values: OptionValues = {};
  for (const [name, raw] of Object.entries(data)) {
    const option = spec.options[name];
    if (!option) throw new UsageError(`--config ${file}: unknown setting ${JSON.stringify(name)} for \`raidfs ${spec.name}\` (see \`raidfs ${spec.name} --help\`)`);
    values[name] = settingValue(option, raw, `--config ${file}: ${name}`);
  }
  return values;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off', '']);

/** One setting from the environment or a config file, checked against its type. */
function settingValue(option: OptionSpec, raw: unknown, where: string): string | boolean {
  if (option.type === 'boolean') {
    if (typeof raw === 'boolean') return raw;
    if (typeof raw === 'string' && TRUE.has(raw.toLowerCase())) return true;
    if (typeof raw === 'string' && FALSE.has(raw.toLowerCase())) return false;
    throw new UsageError(`${where}: expected true or false, not ${JSON.stringify(raw)}`);
  }
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  throw new UsageError(`${where}: expected a string or a number, not ${JSON.stringify(raw)}`);
}

export function helpText(spec: CommandSpec): string {
  const row = (flag: string, help: string) => `  ${flag.padEnd(28)} ${help}`;
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ' VALUE' : ''}`;
    return `${row(flag, o.help)}${o.default !== undefined ? ` (default: ${o.default})` : ''}\n${' '.repeat(31)}env ${envName(name)}`;
  });
  return [
    `Usage: ${spec.usage}`, '', spec.summary, '', 'Options:', ...rows,
    row(`--${CONFIG_OPTION} FILE`, `read settings from a JSON file of {"option-name": value} (env ${envName(CONFIG_OPTION)})`),
    row('-h, --help', 'show this help'),
    '',
    'Each option is taken from the command line, else its environment variable, else the',
    'config file, else its default.',
    '',
  ].join('\n');
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1 << 20, mib: 1 << 20, g: 1 << 30, gib: 1 << 30, t: 2 ** 40, tib: 2 ** 40 };

/** Parses a byte size such as 4194304, 4MiB, 4M or 512k (binary units). */
export function parseSize(value: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError(`${what}: not a size: ${JSON.stringify(value)} (examples: 4MiB, 512k, 1048576)`);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`${what}: must be a positive size`);
  return bytes;
}

export function parseCount(value: string, what: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what}: must be a whole number of at least 1, not ${JSON.stringify(value)}`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses a duration in milliseconds: 5000, 5000ms, 5s, 10m, 24h, 7d; `allowZero` accepts 0 (off). */
export function parseDuration(value: string, what: string, allowZero = false): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = match ? DURATION_UNITS[match[2].toLowerCase()] : undefined;
  if (!match || unit === undefined) throw new UsageError(`${what}: not a duration: ${JSON.stringify(value)} (examples: 500ms, 5s, 10m, 24h)`);
  const ms = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(ms) || ms < (allowZero ? 0 : 1)) throw new UsageError(`${what}: must be a ${allowZero ? 'non-negative' : 'positive'} duration`);
  return ms;
}

/**
 * Checks the ZeroMQ endpoint of option `what` (--listen, --controller) and returns it
 * as given: a malformed one or a port out of range is a usage error saying which,
 * e.g. "--listen tcp://127.0.0.1:99999: port 99999 is out of range 0-65535".
 */
export function parseEndpointOption(value: string, what: string, side: 'listen' | 'connect'): string {
  try {
    readEndpoint(value, side);
  } catch (err) {
    if (err instanceof MalformedEndpointError) throw new UsageError(`${what} ${value}: ${err.message}`);
    throw err;
  }
  return value;
}
