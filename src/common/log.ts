/**
 * Line-oriented logging to stderr: one line per significant event, with a level, the
 * component that speaks and optional key=value fields. RAIDFS_LOG sets the threshold
 * (debug, info, warn, error, silent; default info).
 */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
type Level = Exclude<keyof typeof LEVELS, 'silent'>;

function threshold(): number {
  const wanted = (process.env.RAIDFS_LOG ?? 'info').toLowerCase();
  return wanted in LEVELS ? LEVELS[wanted as keyof typeof LEVELS] : LEVELS.info;
}

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
}

function formatFields(fields: Fields | undefined): string {
  if (!fields) return '';
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join('');
}

export function createLogger(component: string): Logger {
  const limit = threshold();
  const write = (level: Level) => (message: string, fields?: Fields): void => {
    if (LEVELS[level] < limit) return;
    process.stderr.write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${component}: ${message}${formatFields(fields)}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
