/**
 * Human-readable sizes and durations, in the units the command line accepts back
 * (options.ts parses "4MiB", "512KiB", "60s", "24h"), so a default printed in --help
 * can be pasted as a value.
 *
 * Invariant: no imports and no Node.js APIs; the dashboard's page scripts
 * (src/rest/ui) run this same file in the browser.
 */
const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 4194304 → "4MiB", 1536 → "1.5KiB", 1e12 → "931.3GiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)}${SIZE_UNITS[unit]}`;
}

const DURATION_UNITS: Array<[string, number]> = [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]];

/** 86400000 → "24h", 60000 → "1m", 1500 → "1.5s", 250 → "250ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of DURATION_UNITS) {
    if (Math.abs(ms) >= size) {
      const value = ms / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)}${unit}`;
    }
  }
  return `${Math.round(ms)}ms`;
}
