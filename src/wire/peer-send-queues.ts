/**
 * Sends on a ROUTER socket with one queue per peer, so that a peer which stops
 * reading holds up only the messages meant for it, and they wait for room there.
 * (zeromq.js cannot wait for one peer: it counts a ROUTER as writable while any peer
 * has room, so a send to a full peer failed at once; only with every peer full did
 * a send wait, holding up all the others behind it.)
 *
 * Invariants:
 * - The socket has ROUTER_MANDATORY and a sendTimeout of 0: a send either goes into
 *   libzmq's queue for its peer at once or fails at once (EAGAIN when that queue is
 *   full, EHOSTUNREACH when the peer is not connected). zeromq.js then never has a
 *   send pending, so sends to different peers never wait for each other.
 * - Messages to one peer leave in the order they were given.
 * - A message that finds its peer's queue full is tried again, a little later each
 *   time, until `timeoutMs` after it was given; then it is rejected with the EAGAIN
 *   error, and so is every message queued behind it for as long. Any other error
 *   rejects that message alone.
 * - close() rejects everything still queued and stops all retries.
 */
import type { Writable } from 'zeromq';

interface QueuedSend {
  frames: Buffer[];
  deadlineMs: number;
  resolve(): void;
  reject(err: Error): void;
}

/** The first and the longest pause before a message to a full peer is tried again. */
const FIRST_RETRY_MS = 1;
const LONGEST_RETRY_MS = 32;

export class PeerSendQueues {
  /** The peers with messages waiting or being sent; a peer not here sends at once. */
  private readonly queues = new Map<string, QueuedSend[]>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly socket: Writable, private readonly timeoutMs: number) {}

  send(peer: string, frames: Buffer[]): Promise<void> {
    if (this.closed) return Promise.reject(new Error('socket closed'));
    return new Promise<void>((resolve, reject) => {
      const queued: QueuedSend = { frames: [Buffer.from(peer), ...frames], deadlineMs: performance.now() + this.timeoutMs, resolve, reject };
      const queue = this.queues.get(peer);
      if (queue) {
        queue.push(queued);
      } else {
        this.queues.set(peer, [queued]);
        void this.drain(peer);
      }
    });
  }

  close(): void {
    this.closed = true;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    for (const queue of this.queues.values()) {
      for (const queued of queue) queued.reject(new Error('socket closed'));
    }
    this.queues.clear();
  }

  /** Sends `peer`'s queue in order until it is empty; the only loop per peer. */
  private async drain(peer: string): Promise<void> {
    const queue = this.queues.get(peer)!;
    let retryMs = FIRST_RETRY_MS;
    while (!this.closed && queue.length > 0) {
      const head = queue[0];
      try {
        await this.socket.send(head.frames);
        queue.shift();
        head.resolve();
        retryMs = FIRST_RETRY_MS;
      } catch (err) {
        if (this.closed) return;
        if (!isQueueFull(err)) {
          queue.shift();
          head.reject(err as Error);
          continue;
        }
        const now = performance.now();
        while (queue.length > 0 && queue[0].deadlineMs <= now) queue.shift()!.reject(err as Error);
        if (queue.length === 0) break;
        await this.pause(retryMs);
        retryMs = Math.min(retryMs * 2, LONGEST_RETRY_MS);
      }
    }
    this.queues.delete(peer);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        resolve();
      }, ms);
      this.retryTimers.add(timer);
    });
  }
}

function isQueueFull(err: unknown): boolean {
  return (err as { code?: string }).code === 'EAGAIN';
}
