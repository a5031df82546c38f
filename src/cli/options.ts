/**
 * Command-line parsing shared by every raidfs command: each command declares its
 * options once (name, type, default, help), and the same declaration drives parsing
 * (node:util parseArgs, strict: unknown flags are errors) and the --help text.
 */
import { parseArgs } from 'node:util';

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

/** A mistake in how a command was called: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {}

export function parseCommand(spec: CommandSpec, argv: string[]): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        ...Object.fromEntries(Object.entries(spec.options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.default !== undefined ? { default: o.default } : {}) }])),
      },
    });
    return { values: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function helpText(spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ' VALUE' : ''}`;
    return `  ${flag.padEnd(28)} ${o.help}${o.default !== undefined ? ` (default: ${o.default})` : ''}`;
  });
  return [`Usage: ${spec.usage}`, '', spec.summary, '', 'Options:', ...rows, `  ${'-h, --help'.padEnd(28)} show this help`, ''].join('\n');
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
