/**
 * How long a REST transfer waits for room in the controller's REST memory (the
 * budget its uploads and downloads hold their data in: Controller.writeFile and
 * lendSnapshot, memory-budget.ts). A transfer that finds the budget full waits its
 * turn, but not for ever:
 *
 * Invariants:
 * - Until the transfer has started, a wait lasts at most `waitMs`; then it ends with
 *   HttpError 503 and Retry-After, so the client is told to come back instead of
 *   hanging. An upload waits only once, before it reads its body; a download before
 *   each part, and calls started() once its first byte is on its way (the status
 *   line is out, so later waits end only when the client leaves).
 * - Whenever the client leaves (the response closes), the wait ends at once with an
 *   error that errors.ts logs only at debug level, and its place in line is freed.
 * - done() is called once the transfer is over, whatever its outcome; nothing is
 *   left listening or ticking after it.
 */
import type { Response } from 'express';
import { formatBytes } from '../common/format';
import type { Controller } from '../core/controller';
import { HttpError } from './errors';

/** Seconds a transfer refused for want of memory is told to wait before it asks again. */
const RETRY_AFTER_SECONDS = 5;

export class RoomWait {
  private readonly stop = new AbortController();
  private readonly deadline: NodeJS.Timeout;
  private readonly clientGone = () => this.stop.abort(clientLeft());

  constructor(private readonly res: Response, controller: Controller, waitMs: number) {
    res.once('close', this.clientGone);
    this.deadline = setTimeout(() => this.stop.abort(new HttpError(503,
      `too many transfers at once: the controller's REST memory (${formatBytes(controller.restMemoryBytes)}) stayed full for ${waitMs} ms; try again later`,
      { 'Retry-After': String(RETRY_AFTER_SECONDS) })), waitMs);
  }

  /** What the core's wait for room listens to. */
  get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** The transfer has started: from now on only the client's leaving ends a wait. */
  started(): void {
    clearTimeout(this.deadline);
  }

  done(): void {
    clearTimeout(this.deadline);
    this.res.off('close', this.clientGone);
  }
}

/** Runs `transfer` with a RoomWait for its response, done() whatever happens. */
export async function withRoomWait<T>(res: Response, controller: Controller, waitMs: number, transfer: (wait: RoomWait) => Promise<T>): Promise<T> {
  const wait = new RoomWait(res, controller, waitMs);
  try {
    return await transfer(wait);
  } finally {
    wait.done();
  }
}

/** The error a transfer ends with when its client closed the connection (logged at debug level only: errors.ts). */
export function clientLeft(): Error {
  return Object.assign(new Error('the client closed the connection'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
