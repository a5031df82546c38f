/**
 * Settings from the command line, the environment and a config file (cli/options.ts):
 * `raidfs up --help` documents every option with its default and variable; a flag
 * beats its RAIDFS_* variable, which beats the --config file, which beats the
 * default; storage nodes started by `raidfs up` do not inherit the parent's
 * settings; and a bad setting from any source is exit 2 with one line that names
 * it, before anything is started or created.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { envName } from '../src/cli/options';
import { upCommand } from '../src/cli/up-command';
import { testBytes } from './helpers/data';
import { raidfsWithEnv, startRaidfs } from './helpers/raidfs-cli';

describe('configuration: flags, environment, config file', () => {
  let dir: string;
  before(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-config-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const configFile = (name: string, settings: unknown): string => {
    const file = path.join(dir, name);
    writeFileSync(file, typeof settings === 'string' ? settings : JSON.stringify(settings));
    return file;
  };

  /** Runs `raidfs up ARGS` until ready, uses its REST API, stops it (exit 0); returns what it printed. */
  const upUntilReady = async (args: string[], env: Record<string, string>, use?: (restUrl: string) => Promise<void>) => {
    const up = await startRaidfs(['up', ...args], env);
    try {
      assert.ok(up.restUrl, up.out());
      await use?.(up.restUrl);
    } finally {
      assert.equal(await up.stop(), 0, up.out());
    }
    return up.out();
  };

  it('`raidfs up --help` lists every option with its environment variable and default', () => {
    const help = raidfsWithEnv({}, 'up', '--help');
    assert.equal(help.status, 0);
    for (const [name, option] of Object.entries(upCommand.options)) {
      assert.match(help.stdout, new RegExp(`--${name}\\b.*${option.default !== undefined ? `\\(default: ${option.default.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)` : ''}\\n\\s+env ${envName(name)}\\n`), name);
    }
    assert.match(help.stdout, /--config FILE .*RAIDFS_CONFIG/);
  });

  it('a flag beats its RAIDFS_* variable, which beats the config file, which beats the default', async () => {
    const file = configFile('up.json', { nodes: 1, replicas: 1, 'no-mount': true, listen: 'tcp://127.0.0.1:0', rest: '127.0.0.1:0', data: path.join(dir, 'data') });
    assert.match(await upUntilReady(['--config', file], {}), /, 1 storage nodes /, 'from the file');
    assert.match(await upUntilReady([], { RAIDFS_CONFIG: file, RAIDFS_NODES: '2' }), /, 2 storage nodes /, 'env over the file');
    assert.match(await upUntilReady(['--config', file, '--nodes', '3'], { RAIDFS_NODES: '2' }), /, 3 storage nodes /, 'flag over env');
  });

  it('storage nodes started by `raidfs up` do not take the parent\'s RAIDFS_* settings', async () => {
    // `raidfs node --capacity` would read RAIDFS_CAPACITY; 1 byte would make every write fail.
    const file = configFile('up-cap.json', { nodes: 2, 'no-mount': true, listen: 'tcp://127.0.0.1:0', rest: '127.0.0.1:0', data: path.join(dir, 'data-cap') });
    const data = testBytes(100_000, 'config');
    await upUntilReady(['--config', file], { RAIDFS_CAPACITY: '1' }, async (rest) => {
      assert.equal((await fetch(`${rest}/fs/a.bin`, { method: 'PUT', body: data })).status, 201);
      assert.ok(Buffer.from(await (await fetch(`${rest}/fs/a.bin`)).arrayBuffer()).equals(data));
    });
  });

  it('a bad setting from any source is exit 2, one line naming it, and nothing is started or created', () => {
    const data = path.join(dir, 'never');
    /** Were one of them to start after all: no mount, no REST, no fixed port. */
    const quiet = ['--no-mount', '--no-rest', '--listen', 'tcp://127.0.0.1:0'];
    const cases: Array<{ args: string[]; env?: Record<string, string>; says: RegExp }> = [
      { args: ['--config', path.join(dir, 'missing.json')], says: /--config .*missing\.json: cannot read it as JSON: ENOENT/ },
      { args: ['--config', configFile('broken.json', '{"nodes": 2,')], says: /--config .*broken\.json: cannot read it as JSON/ },
      { args: ['--config', configFile('list.json', [1, 2])], says: /expected a JSON object/ },
      { args: ['--config', configFile('typo.json', { nodez: 2 })], says: /unknown setting "nodez" for `raidfs up`/ },
      { args: ['--config', configFile('type.json', { 'no-mount': 'maybe' })], says: /no-mount: expected true or false, not "maybe"/ },
      { args: ['--config', configFile('obj.json', { rest: { port: 1 } })], says: /rest: expected a string or a number/ },
      { args: [], env: { RAIDFS_NO_REST: 'perhaps' }, says: /RAIDFS_NO_REST: expected true or false, not "perhaps"/ },
      { args: [], env: { RAIDFS_NODES: 'many' }, says: /--nodes: must be a whole number of at least 1, not "many"/ },
      // Fewer nodes than copies of each part: it would say ready, and every write would fail (503).
      { args: ['--nodes', '1', ...quiet], says: /--nodes 1 cannot hold 2 copies of each part: give --nodes 2 or more, or --replicas 1$/m },
      { args: quiet, env: { RAIDFS_NODES: '1' }, says: /--nodes 1 cannot hold 2 copies of each part/ },
      { args: ['--nodes', '2', '--replicas', '3', ...quiet], says: /--nodes 2 cannot hold 3 copies of each part: give --nodes 3 or more, or --replicas 2$/m },
    ];
    for (const { args, env, says } of cases) {
      const r = raidfsWithEnv(env ?? {}, 'up', '--data', data, ...args);
      assert.equal(r.status, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, says);
      assert.match(r.stderr, /^raidfs up: [^\n]+\nRun `raidfs up --help` for usage\.\n$/);
      assert.equal(existsSync(data), false, 'nothing created');
    }
  });
});
