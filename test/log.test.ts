/**
 * Logs as a process writes them (src/common/log.ts): a child `node -e` logs through
 * createLogger and the test reads its stderr. JSON lines when stderr is a pipe or
 * RAIDFS_LOG_FORMAT=json, one human line per event with RAIDFS_LOG_FORMAT=pretty,
 * RAIDFS_LOG as the threshold, and no line lost to process.exit().
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';

const LOG_MODULE = path.join(__dirname, '..', 'src', 'common', 'log.js');

/**
 * Logs one event per level, FILLER info lines, then a last line, and exits 1 — or with
 * DIE=kill, SIGKILLs itself, which leaves no exit handler a chance to flush anything.
 */
const SCRIPT = `
const { createLogger } = require(${JSON.stringify(LOG_MODULE)});
const log = createLogger('probe');
log.debug('debug detail', { n: 1 });
log.info('node registered', { node: 'node1', address: 'tcp://127.0.0.1:5557', free: 1024, gone: undefined });
log.warn('upload failed', { path: '/a b.txt', error: new Error('disk full') });
for (let i = 0; i < Number(process.env.FILLER); i++) log.info('filler', { i, pad: 'x'.repeat(200) });
log.error('last words', { code: 1 });
if (process.env.DIE === 'kill') process.kill(process.pid, 'SIGKILL');
process.exit(1);
`;

/** Runs SCRIPT with these logging settings (and no others); returns its stderr lines. */
function run(env: { RAIDFS_LOG?: string; RAIDFS_LOG_FORMAT?: string }, filler = 0, die: 'exit' | 'kill' = 'exit'): string[] {
  const base = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RAIDFS_')));
  const r = spawnSync(process.execPath, ['-e', SCRIPT], { encoding: 'utf8', timeout: 20_000, env: { ...base, ...env, FILLER: String(filler), DIE: die } });
  if (die === 'kill') assert.equal(r.signal, 'SIGKILL', r.stderr);
  else assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.ok(r.stderr === '' || r.stderr.endsWith('\n'), 'every line is complete');
  return r.stderr === '' ? [] : r.stderr.slice(0, -1).split('\n');
}

const parse = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('logs', () => {
  it('are JSON lines (level, time, component, msg, fields) when stderr is a pipe, and with RAIDFS_LOG_FORMAT=json', () => {
    for (const format of [undefined, 'json']) {
      const before = Date.now();
      const records = parse(run({ RAIDFS_LOG: 'debug', RAIDFS_LOG_FORMAT: format }));
      assert.deepEqual(records.map((r) => [r.level, r.component, r.msg]), [
        [20, 'probe', 'debug detail'], [30, 'probe', 'node registered'], [40, 'probe', 'upload failed'], [50, 'probe', 'last words'],
      ]);
      for (const r of records) assert.ok(typeof r.time === 'number' && r.time >= before && r.time <= Date.now(), `time ${r.time}`);
      const [, registered, failed] = records;
      assert.equal(registered.node, 'node1');
      assert.equal(registered.address, 'tcp://127.0.0.1:5557');
      assert.equal(registered.free, 1024);
      assert.ok(!('gone' in registered), 'undefined fields are dropped');
      assert.equal(failed.path, '/a b.txt');
      const error = failed.error as Record<string, unknown>;
      assert.equal(error.type, 'Error');
      assert.equal(error.message, 'disk full');
      assert.match(String(error.stack), /^Error: disk full\n\s+at /);
    }
  });

  it('RAIDFS_LOG sets the threshold (default info; an unknown level means info, with a warning)', () => {
    assert.deepEqual(parse(run({ RAIDFS_LOG: 'warn' })).map((r) => r.msg), ['upload failed', 'last words']);
    assert.deepEqual(parse(run({ RAIDFS_LOG: 'error' })).map((r) => r.msg), ['last words']);
    assert.deepEqual(run({ RAIDFS_LOG: 'silent' }), []);
    assert.deepEqual(parse(run({})).map((r) => r.msg), ['node registered', 'upload failed', 'last words']);
    const unknown = parse(run({ RAIDFS_LOG: 'loud' }));
    assert.deepEqual(unknown.map((r) => [r.level, r.component]), [[40, 'log'], [30, 'probe'], [40, 'probe'], [50, 'probe']]);
    assert.equal(unknown[0].RAIDFS_LOG, 'loud');
    assert.match(String(unknown[0].msg), /unknown RAIDFS_LOG/);
  });

  it('RAIDFS_LOG_FORMAT=pretty gives one human line per event: time, level, component, message, fields', () => {
    const lines = run({ RAIDFS_LOG: 'debug', RAIDFS_LOG_FORMAT: 'pretty' });
    const time = String.raw`\d\d:\d\d:\d\d\.\d{3}`;
    const expected = [
      String.raw`DEBUG probe: debug detail n=1`,
      String.raw`INFO  probe: node registered node=node1 address=tcp://127\.0\.0\.1:5557 free=1024`,
      String.raw`WARN  probe: upload failed path="/a b\.txt" error="disk full"`,
      String.raw`ERROR probe: last words code=1`,
    ];
    assert.equal(lines.length, expected.length, lines.join('\n'));
    lines.forEach((line, i) => assert.match(line, new RegExp(`^${time} ${expected[i]}$`)));
  });

  it('are written synchronously: the last line before process.exit() or a SIGKILL is there, behind more than a pipe holds', () => {
    for (const format of ['json', 'pretty']) {
      for (const die of ['exit', 'kill'] as const) {
        const lines = run({ RAIDFS_LOG_FORMAT: format }, 2000, die);
        assert.equal(lines.filter((line) => line.includes('filler')).length, 2000, `${format}, ${die}`);
        assert.match(lines.at(-1)!, format === 'json' ? /"msg":"last words"/ : /ERROR probe: last words code=1$/, `${format}, ${die}`);
      }
    }
  });
});
