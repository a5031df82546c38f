/**
 * Runs the raidfs command line as a user would, to completion: `raidfs(...args)`
 * returns spawnSync's result (status, stdout, stderr), with a 20 s deadline;
 * `raidfsWithEnv(env, ...args)` adds environment variables; `raidfsUnprivileged`
 * runs it as a user file permissions apply to (nobody, when the tests run as root,
 * whom no permission stops). Commands that keep running (up, controller) start with
 * `startRaidfs`, which waits for their ready line.
 */
import { spawnSync } from 'node:child_process';
import { CLI_ENTRY } from '../../src/cli/local-nodes';
import { ReadyProcess } from './ready-process';

export function raidfs(...args: string[]) {
  return raidfsWithEnv({}, ...args);
}

export function raidfsWithEnv(env: Record<string, string>, ...args: string[]) {
  return spawnSync(process.execPath, [CLI_ENTRY, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
}

/** `raidfs ARGS` as nobody (setpriv) when the tests run as root, else as the test's own user. */
export function raidfsUnprivileged(...args: string[]) {
  const command = [process.execPath, CLI_ENTRY, ...args];
  const [file, ...rest] = process.getuid?.() === 0 ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', ...command] : command;
  return spawnSync(file, rest, { encoding: 'utf8', timeout: 20_000 });
}

export interface RunningRaidfs {
  /** Everything it printed so far, stdout then stderr. */
  out(): string;
  /** The REST API's URL from the ready line, if it serves one. */
  restUrl?: string;
  /** SIGINT (Ctrl-C); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `raidfs ARGS` (logging at warn) until its ready line. */
export async function startRaidfs(args: string[], env: Record<string, string> = {}): Promise<RunningRaidfs> {
  const cli = await ReadyProcess.start(CLI_ENTRY, args, /ready:/, { env: { ...process.env, RAIDFS_LOG: 'warn', ...env }, timeoutMs: 20_000 });
  return {
    out: () => cli.stdout + cli.stderr,
    restUrl: /REST API on (http:\/\/\S+?),/.exec(cli.stdout)?.[1],
    stop: () => cli.stop(),
  };
}
