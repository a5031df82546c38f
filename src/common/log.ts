/**
 * Structured logging for every raidfs process, built on pino: one line per significant
 * event on stderr, each with a level, the component that speaks (`component`), a message
 * and optional fields.
 *
 * - Format: RAIDFS_LOG_FORMAT=json gives pino's JSON lines (level as pino's number, time
 *   in epoch ms, pid, hostname, component, the fields, msg); RAIDFS_LOG_FORMAT=pretty
 *   gives one human line per event (`12:00:01.123 INFO  controller: node registered
 *   node=node1 address=...`), coloured only on a terminal. Unset (or anything else, with
 *   one warning): pretty when stderr is a terminal, JSON otherwise.
 * - Threshold: RAIDFS_LOG=debug|info|warn|error|silent, default info; an unknown value
 *   means info, with one warning.
 * - Writes are synchronous (fd 2, no worker thread, pino-pretty runs in-process), so the
 *   last line before a crash or process.exit() is never lost.
 * - Fields: undefined values are dropped; Error values become {type, message, stack}
 *   (their message in pretty lines); a field named like one of the record's own keys
 *   (level, time, msg, ...) is renamed `field_NAME` rather than overwrite it.
 * - Every line is a single line: pretty output escapes newlines in messages and fields.
 *
 * The environment is read once, when the first logger is created.
 */
import pino from 'pino';
import { prettyFactory } from 'pino-pretty';

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

type Level = keyof Logger;
const LEVELS: readonly string[] = ['debug', 'info', 'warn', 'error', 'silent'] satisfies pino.LevelWithSilent[];
const FORMATS = ['json', 'pretty'] as const;

/** Keys pino (and we) put on every record; fields never overwrite them. */
const RECORD_KEYS: ReadonlySet<string> = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg']);

let root: pino.Logger | undefined;

export function createLogger(component: string): Logger {
  const log = (root ??= createRoot()).child({ component });
  const write = (level: Level) => (message: string, fields?: Fields): void => {
    if (!log.isLevelEnabled(level)) return;
    if (fields) log[level](recordFields(fields), message);
    else log[level](message);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function createRoot(): pino.Logger {
  const wantedLevel = (process.env.RAIDFS_LOG ?? 'info').toLowerCase();
  const wantedFormat = process.env.RAIDFS_LOG_FORMAT?.toLowerCase() || undefined;
  const level = LEVELS.includes(wantedLevel) ? wantedLevel : 'info';
  const format = FORMATS.find((f) => f === wantedFormat) ?? (process.stderr.isTTY ? 'pretty' : 'json');
  const stderr = pino.destination({ fd: 2, sync: true });
  const logger = pino({ level }, format === 'json' ? stderr : prettyStream(stderr));
  const complain = logger.child({ component: 'log' });
  if (level !== wantedLevel) complain.warn({ RAIDFS_LOG: process.env.RAIDFS_LOG }, 'unknown RAIDFS_LOG level (debug, info, warn, error, silent); using info');
  if (wantedFormat !== undefined && wantedFormat !== format) complain.warn({ RAIDFS_LOG_FORMAT: process.env.RAIDFS_LOG_FORMAT }, `unknown RAIDFS_LOG_FORMAT (json, pretty); using ${format}`);
  return logger;
}

/** The fields as they go into a record: see the header for the rules. */
function recordFields(fields: Fields): Fields {
  const out: Fields = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    out[RECORD_KEYS.has(key) ? `field_${key}` : key] = value instanceof Error ? pino.stdSerializers.err(value) : value;
  }
  return out;
}

/** pino-pretty in-process: each JSON line pino writes is turned into one human line on `out`. */
function prettyStream(out: pino.DestinationStream): pino.DestinationStream {
  const prettify = prettyFactory({
    colorize: Boolean(process.stderr.isTTY) && process.env.NO_COLOR === undefined,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    hideObject: true,
    useOnlyCustomProps: false, // with true and no customLevels, pino-pretty 13 gives prettifiers no label
    customPrettifiers: {
      time: (time) => String(time),
      // pino-pretty ends the head of the line with ':', so the component rides with the level.
      level: (_level, _key, log, { label, labelColorized }) =>
        `${labelColorized}${' '.repeat(Math.max(0, 5 - label.length))} ${String((log as Fields).component ?? '-')}`,
    },
    messageFormat: (log, messageKey) => oneLine(String(log[messageKey] ?? '')) + prettyFields(log),
  });
  return { write: (line: string) => { out.write(prettify(line)); } };
}

function prettyFields(log: Fields): string {
  return Object.entries(log)
    .filter(([key]) => !RECORD_KEYS.has(key))
    .map(([key, value]) => ` ${key}=${prettyValue(value)}`)
    .join('');
}

function prettyValue(value: unknown): string {
  if (isSerializedError(value)) return prettyValue(value.message);
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return oneLine(JSON.stringify(value) ?? String(value));
}

function isSerializedError(value: unknown): value is { type: string; message: string; stack: string } {
  const v = value as { type?: unknown; message?: unknown; stack?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.type === 'string' && typeof v.message === 'string' && typeof v.stack === 'string';
}

function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}
