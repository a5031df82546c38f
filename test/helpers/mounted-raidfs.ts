/**
 * A real `raidfs up` for mount tests: the CLI runs as a child process (controller,
 * nodes and the FUSE mount), so the test process is never the one serving the mount
 * and may use the mount freely, with fs calls or by running cp, cat, rsync...
 * With args ['--no-mount'] it is simply a whole cluster in real processes (REST and
 * the controller's node endpoint are on free loopback ports).
 *
 * stop() sends SIGINT (which unmounts and stops the nodes), kills what is left by
 * PID, lazily unmounts if the mount is still there, and removes the temp directory.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, promises as fs, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CLI_ENTRY } from '../../src/cli/local-nodes';
import { waitUntil } from './data';
import { isMounted } from './host';
import { ReadyProcess } from './ready-process';

const execFileAsync = promisify(execFile);

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A user and group other than the test's (root's) to run a process as. */
export interface RunAs {
  uid: number;
  gid: number;
}

/** Runs a command (bash -c) to completion, as `user` if given; never throws on a non-zero exit. */
export async function sh(script: string, options: { cwd?: string; timeoutMs?: number; user?: RunAs } = {}): Promise<RunResult> {
  try {
    const { stdout, stderr } = await execFileAsync('bash', ['-c', script], {
      cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 << 20, uid: options.user?.uid, gid: options.user?.gid,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export class MountedRaidfs {
  readonly nodePids: number[];
  /** The REST API's base URL (served on a free loopback port). */
  readonly restUrl: string;
  /** The ZeroMQ endpoint storage nodes connect to. */
  readonly controllerEndpoint: string;

  private constructor(readonly dir: string, readonly mnt: string, private readonly up: ReadyProcess) {
    this.nodePids = (/pids ([\d ]+)\)/.exec(up.stdout)?.[1] ?? '').trim().split(' ').map(Number);
    this.restUrl = /REST API on (\S+?),/.exec(up.stdout)?.[1] ?? '';
    this.controllerEndpoint = /controller (tcp:\/\/\S+?),/.exec(up.stdout)?.[1] ?? '';
  }

  /**
   * Starts `raidfs up`; with `user`, as that user (only they may use the mount then:
   * raidfs mounts without allow_other), in a temp directory they own.
   */
  static async start(options: { nodes?: number; args?: string[]; user?: RunAs } = {}): Promise<MountedRaidfs> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-mnt-'));
    const mnt = path.join(dir, 'mnt');
    try {
      if (options.user) chownSync(dir, options.user.uid, options.user.gid);
      const up = await ReadyProcess.start(CLI_ENTRY, ['up', mnt, '--data', path.join(dir, 'data'), '--listen', 'tcp://127.0.0.1:0',
        '--nodes', String(options.nodes ?? 4), '--node-timeout', '3s' /* as cluster.ts, for late heartbeats */, '--rest', '127.0.0.1:0', ...(options.args ?? [])],
      /raidfs ready/, { env: { ...process.env, RAIDFS_LOG: process.env.RAIDFS_LOG ?? 'warn' }, ...options.user });
      return new MountedRaidfs(dir, mnt, up);
    } catch (err) {
      await sh(`fusermount -uz ${JSON.stringify(mnt)} 2>/dev/null`);
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The controller's PID (the `raidfs up` process). */
  get pid(): number {
    return this.up.pid;
  }

  /** A path inside the mount. */
  at(relative: string): string {
    return path.join(this.mnt, relative);
  }

  /** kill -9 of node `index`, by the PID the ready line gave (`raidfs up` starts it again, unless run with --no-node-restart). */
  killNode(index: number): void {
    process.kill(this.nodePids[index], 'SIGKILL');
  }

  /**
   * Opens `relative` for writing, runs `writes` on it and closes it, as a program
   * would; resolves with the first error of the writes or of close() (where a failed
   * commit shows), if any. The test process does not serve the mount, so it may.
   */
  async writeAndClose(relative: string, writes: (handle: FileHandle) => Promise<void>): Promise<NodeJS.ErrnoException | undefined> {
    const handle = await fs.open(this.at(relative), 'w');
    let failure: unknown;
    try {
      await writes(handle);
    } catch (err) {
      failure = err;
    }
    try {
      await handle.close();
    } catch (err) {
      failure ??= err;
    }
    return failure as NodeJS.ErrnoException | undefined;
  }

  /** Waits until the controller counts `count` nodes down (GET /status). */
  async waitUntilNodesDown(count: number): Promise<void> {
    const nodesDown = async () => ((await (await fetch(`${this.restUrl}/status`)).json()) as { nodesDown: number }).nodesDown;
    await waitUntil(async () => (await nodesDown()) === count, `${count} node(s) counted down`, 10_000);
  }

  async stop(): Promise<void> {
    await this.up.stop('SIGINT', 10_000);
    for (const pid of this.nodePids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    if (isMounted(this.mnt)) await sh(`fusermount -uz ${JSON.stringify(this.mnt)}`);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
