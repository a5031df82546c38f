/**
 * `npm run bench`: runs every benchmark section, each in its own process (so each
 * process's peak RSS is its own), collects their rows and prints one table.
 * Sections: RAIDFS_BENCH=core,fuse,... picks some (default: all).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BenchRow, printTable } from './report';

const SECTIONS: Record<string, string> = {
  core: 'core-bench.js',
  fuse: 'fuse-bench.js',
  rest: 'rest-bench.js',
};

function runSection(name: string, script: string): BenchRow[] {
  process.stderr.write(`bench: running ${name}...\n`);
  const result = spawnSync(process.execPath, [path.join(__dirname, script)], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { RAIDFS_LOG: 'warn', ...process.env }, timeout: 30 * 60_000,
  });
  if (result.status !== 0) throw new Error(`bench section ${name} failed (exit ${result.status ?? result.signal})`);
  return JSON.parse(result.stdout.trim().split('\n').at(-1)!) as BenchRow[];
}

const wanted = (process.env.RAIDFS_BENCH ?? Object.keys(SECTIONS).join(',')).split(',');
const rows = wanted.flatMap((name) => {
  if (!SECTIONS[name]) throw new Error(`unknown bench section ${name}; known: ${Object.keys(SECTIONS).join(', ')}`);
  return runSection(name, SECTIONS[name]);
});
process.stdout.write(`${printTable(rows)}\n`);
const missed = rows.filter((r) => r.met === false);
if (missed.length) process.stdout.write(`\nMissed targets: ${missed.map((r) => `${r.section}: ${r.what}`).join('; ')}\n`);
