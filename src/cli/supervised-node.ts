/**
 * A local storage node that `raidfs up` keeps running. When its process dies (kill -9,
 * a crash, the OOM killer, an exit with an error) it is started again on the same data
 * directory, as systemd's Restart=on-failure does for raidfs-node@.service: after
 * 2 s, a delay that doubles (up to 1 min) while the node keeps dying within a minute
 * of its start, so a node that cannot start logs one line a minute instead of
 * spinning. Its copies are still on disk, so the controller counts them again as it
 * registers, and nothing needs repair.
 *
 * A node whose first process never starts (its data directory is in use, say) is not
 * started again: `started` rejects with its reason, and `raidfs up` fails with it.
 *
 * Invariants:
 * - At most one process per node at a time: the next starts only after the last exited.
 * - A clean exit (code 0, or SIGTERM/SIGINT: someone stopped it on purpose) is left
 *   alone, as is every exit with restarts off (`raidfs up --no-node-restart`); each
 *   exit is logged either way.
 * - After stop() nothing is started again, and the process running is stopped.
 */
import { createLogger } from '../common/log';
import { LocalNode, LocalNodeSpec } from './local-nodes';

const FIRST_DELAY_MS = 2_000;
const MAX_DELAY_MS = 60_000;
/** A node that ran this long before it died starts again after the first delay. */
const STABLE_MS = 60_000;

const CLEAN_EXITS: ReadonlySet<number | NodeJS.Signals> = new Set([0, 'SIGTERM', 'SIGINT']);

const log = createLogger('up');

export class SupervisedNode {
  private current: LocalNode;
  private restartTimer: NodeJS.Timeout | undefined;
  private delayMs = FIRST_DELAY_MS;
  private stopped = false;
  /** Whether a process of this node ever started; until one has, none is started again. */
  private everStarted = false;
  /** Resolves once the first process runs; rejects with a NodeStartError if it exits first. */
  readonly started: Promise<void>;

  constructor(readonly spec: LocalNodeSpec, private readonly restart: boolean) {
    this.current = this.launch();
    this.started = this.current.started.then(() => { this.everStarted = true; });
    this.started.catch(() => undefined); // a failure is for whoever awaits it
  }

  /** The PID of the node's process now (a restart changes it). */
  get pid(): number | undefined {
    return this.current.pid;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.current.stop();
  }

  private launch(): LocalNode {
    const node = new LocalNode(this.spec);
    const startedMs = Date.now();
    void node.exited.then((how) => this.exited(node, how, Date.now() - startedMs));
    return node;
  }

  private exited(node: LocalNode, how: number | NodeJS.Signals, ranMs: number): void {
    if (this.stopped || !this.everStarted) return;
    const fields = { node: this.spec.id, pid: node.pid, how };
    if (!this.restart || CLEAN_EXITS.has(how)) {
      log.warn('storage node exited', fields);
      return;
    }
    if (ranMs >= STABLE_MS) this.delayMs = FIRST_DELAY_MS;
    log.warn('storage node exited, starting it again', { ...fields, inMs: this.delayMs });
    this.restartTimer = setTimeout(() => {
      this.current = this.launch();
      log.info('storage node started again', { node: this.spec.id, pid: this.current.pid });
    }, this.delayMs);
    this.delayMs = Math.min(MAX_DELAY_MS, 2 * this.delayMs);
  }
}
