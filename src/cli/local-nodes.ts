/**
 * Storage nodes run as child processes of this one (the embedded default of
 * `raidfs up`, and the tests' clusters): each is `raidfs node` on its own data
 * directory. Children are tracked by PID and stopped with SIGTERM, then SIGKILL after
 * a grace period; only processes started here are ever signalled (a terminal's
 * signals do not reach them: each runs in a process group of its own). Each child's
 * stdin is a pipe from this process (`--exit-with-stdin`), so if this process dies,
 * even by kill -9, its nodes see the pipe close and stop: no orphan keeps a data
 * directory.
 * A child is configured by its arguments alone: the parent's RAIDFS_* settings
 * (meant for the parent's own options, e.g. RAIDFS_KEY) are not passed on, only the
 * logging ones; glibc's malloc settings for nodes are added (node/allocator-settings.ts).
 * Each child tells this process over an IPC channel whether it started (it holds its
 * data directory and connects to the controller) or why not (reportNodeStart), then
 * closes the channel: `started` resolves, or rejects with the node's own reason.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { withStorageNodeMallocSettings } from '../node/allocator-settings';

export const CLI_ENTRY = path.join(__dirname, 'main.js');

const INHERITED_SETTINGS = new Set(['RAIDFS_LOG', 'RAIDFS_LOG_FORMAT', 'RAIDFS_DEBUG']);

function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RAIDFS_') || INHERITED_SETTINGS.has(name)));
}

export interface LocalNodeSpec {
  id: string;
  dataDir: string;
  controller: string;
  capacity?: number;
  /** More `raidfs node` arguments, e.g. CURVE key flags. */
  extraArgs?: string[];
}

/** What `raidfs node` tells the process that started it, once: it runs, or why it could not start. */
export type NodeStartReport = { started: true } | { startFailed: string };

/** Sends `report` to the process that started this one, if it listens (an IPC channel); resolves once sent. */
export function reportNodeStart(report: NodeStartReport): Promise<void> {
  const send = process.send?.bind(process);
  if (!send) return Promise.resolve();
  return new Promise((resolve) => send(report, undefined, {}, () => resolve()));
}

/** A local node that exited before it started: "storage node node1 could not start: REASON". */
export class NodeStartError extends Error {}

export class LocalNode {
  readonly process: ChildProcess;
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Resolves once the node runs; rejects with a NodeStartError if it exits first. */
  readonly started: Promise<void>;

  constructor(readonly spec: LocalNodeSpec, stdio: 'inherit' | 'ignore' = 'inherit') {
    const args = [CLI_ENTRY, 'node', '--id', spec.id, '--data', spec.dataDir, '--controller', spec.controller, '--exit-with-stdin'];
    if (spec.capacity !== undefined) args.push('--capacity', String(spec.capacity));
    args.push(...(spec.extraArgs ?? []));
    // A process group of its own: a terminal's Ctrl-C reaches only this process, which
    // stops its nodes in order (the controller first), instead of every node at once.
    this.process = spawn(process.execPath, args, { stdio: ['pipe', stdio, stdio, 'ipc'], env: withStorageNodeMallocSettings(childEnv()), detached: true });
    this.exited = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve(signal ?? code ?? 0)));
    this.started = new Promise((resolve, reject) => {
      let reason: string | undefined;
      this.process.on('message', (report: NodeStartReport) => {
        if ('started' in report) resolve();
        else reason = report.startFailed;
      });
      // 'close', not 'exit': by then every message the node sent has been read.
      this.process.once('close', (code, signal) => reject(new NodeStartError(
        `storage node ${spec.id} could not start: ${reason ?? (signal ? `it was killed by ${signal}` : `it exited with code ${code}`)}`)));
    });
    this.started.catch(() => undefined); // a failure is for whoever awaits it, if anyone does
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.running) this.process.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.process.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
