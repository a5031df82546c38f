/**
 * Benchmark results: every measurement is a row with its value, unit and, where one
 * was measured in the same run, the ceiling it is compared with. printTable renders
 * the rows as the Markdown table the README and issue notes quote.
 */
import { readFileSync } from 'node:fs';
import { procStat } from '../test/helpers/host';

export interface BenchRow {
  section: string;
  what: string;
  value: number;
  unit: string;
  /** The same workload on the ceiling (local disk, discard mount, raw socket, ...). */
  ceiling?: { name: string; value: number };
  /** Target as a human-readable rule, e.g. ">= 0.5x ceiling" or "< 256 MiB". */
  target?: string;
  /** Whether the target was met, when there is one. */
  met?: boolean;
}

/** A figure as the table prints it: no decimals from 100, one from 10, two below. */
export function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

export function printTable(rows: readonly BenchRow[]): string {
  const lines = ['| section | measurement | raidfs | ceiling | ratio | target |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    const ceiling = r.ceiling ? `${fmt(r.ceiling.value)} ${r.unit} (${r.ceiling.name})` : '';
    const ratio = r.ceiling ? `${(r.value / r.ceiling.value).toFixed(2)}x` : '';
    const target = r.target ? `${r.target} ${r.met === undefined ? '' : r.met ? 'met' : 'MISSED'}` : '';
    lines.push(`| ${r.section} | ${r.what} | ${fmt(r.value)} ${r.unit} | ${ceiling} | ${ratio} | ${target.trim()} |`);
  }
  return lines.join('\n');
}

/** MB/s (10^6 bytes per second) for `bytes` moved in `ms`. */
export function mbPerSecond(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/**
 * CPU time (user + system) a running process has used so far, in seconds, from
 * /proc/PID/stat (clock ticks of 1/100 s: Linux's USER_HZ).
 */
export function cpuSeconds(pid: number): number {
  const fields = procStat(pid);
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident memory (VmHWM) of a process, in MiB, from /proc. */
export function peakRssMiB(pid: number | 'self' = 'self'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kib / 1024;
}
