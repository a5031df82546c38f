/**
 * Runs the raidfs command line as a user would, to completion: `raidfs(...args)`
 * returns spawnSync's result (status, stdout, stderr), with a 20 s deadline;
 * `raidfsWithEnv(env, ...args)` adds environment variables. For commands that keep
 * running (up, controller), use ReadyProcess instead.
 */
import { spawnSync } from 'node:child_process';
import { CLI_ENTRY } from '../../src/cli/local-nodes';

export function raidfs(...args: string[]) {
  return raidfsWithEnv({}, ...args);
}

export function raidfsWithEnv(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, [CLI_ENTRY, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
}
