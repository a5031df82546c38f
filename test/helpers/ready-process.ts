/**
 * A long-running child process that announces itself with a "ready" line (the raidfs
 * CLI, the benchmark's discard mount): start() resolves once the line appears in its
 * output, and kills it and throws if it exits or the deadline passes first; stop()
 * sends a signal (SIGINT, like Ctrl-C), then SIGKILL after a grace period, and
 * resolves with the exit code. Only this child is ever signalled.
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export class ReadyProcess {
  private out = '';
  private err = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (d) => { this.out += d; });
    child.stderr!.on('data', (d) => { this.err += d; });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Runs `node SCRIPT ARGS` (as user `uid`, group `gid`, if given) until its stdout or stderr matches `ready`. */
  static async start(script: string, args: string[], ready: RegExp, options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; uid?: number; gid?: number } = {}): Promise<ReadyProcess> {
    const proc = new ReadyProcess(spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, uid: options.uid, gid: options.gid,
    }));
    const deadline = Date.now() + (options.timeoutMs ?? 60_000);
    while (!ready.test(proc.out) && !ready.test(proc.err)) {
      if (!proc.running || Date.now() > deadline) {
        await proc.stop('SIGKILL');
        throw new Error(`${path.basename(script)} ${args.join(' ')} did not get ready:\n${proc.out}\n${proc.err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return proc;
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async stop(signal: NodeJS.Signals = 'SIGINT', graceMs = 10_000): Promise<number | null> {
    if (this.running) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }
}
