/**
 * A budget for file data in the controller's memory: uploads (the stripes a store
 * holds until its parts are acknowledged), read-ahead (parts fetched before a reader
 * gets to them) and REST downloads (the parts one holds until its client has taken
 * them). Each holds a reservation of what it may hold at most, so however many
 * files are written or read at once, their data stays within the budget. Without
 * it, 60 programs each writing an 8 MB file through the mount took the controller
 * to 640 MB, 60 REST uploads to 780 MB, and 60 slow REST downloads to 711 MB. The
 * controller keeps one for the mount and one for REST (controller.ts).
 *
 * Invariants:
 * - Reserved bytes never exceed the total: a reservation waits (FIFO, so a large one
 *   is not overtaken forever by small ones) or, with tryReserve, is refused at once.
 *   A request larger than the total is cut to the total, so it can still proceed
 *   alone.
 * - A reservation is released once (release() is idempotent), and whoever takes one
 *   releases it when the memory it stands for is no longer held.
 * - Nothing waits on a reservation that is held by something waiting on it: only
 *   what holds nothing else of the same budget waits (a store, which then progresses
 *   at the nodes' pace or its sender's; a download between two parts); the mount's
 *   streamed files and read-ahead only try, and do without when refused.
 * - A wait given up (its signal aborted) leaves the queue at once, and those behind
 *   it are served if they fit.
 */

/** Bytes reserved until release(). */
export interface Reservation {
  readonly bytes: number;
  release(): void;
}

interface Waiter {
  bytes: number;
  grant(reservation: Reservation): void;
}

export class MemoryBudget {
  private reserved = 0;
  private readonly waiting: Waiter[] = [];

  constructor(readonly total: number) {
    if (!(total > 0)) throw new Error('the memory budget must be positive');
  }

  /** Bytes held by reservations now. */
  get inUse(): number {
    return this.reserved;
  }

  /** Reservations waiting for room now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * `bytes` (at most the total), once they fit and everyone who asked before has
   * theirs; rejects with `signal`'s reason if it aborts first.
   */
  reserve(bytes: number, signal?: AbortSignal): Promise<Reservation> {
    const wanted = Math.min(bytes, this.total);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiting.length === 0 && this.fits(wanted, 0)) return Promise.resolve(this.grant(wanted));
    return new Promise((resolve, reject) => {
      const giveUp = () => {
        this.waiting.splice(this.waiting.indexOf(waiter), 1);
        this.wakeWaiting();
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        bytes: wanted,
        grant: (reservation) => {
          signal?.removeEventListener('abort', giveUp);
          resolve(reservation);
        },
      };
      signal?.addEventListener('abort', giveUp, { once: true });
      this.waiting.push(waiter);
    });
  }

  /**
   * `bytes` now if they fit with `keepFree` bytes still unreserved and nobody is
   * waiting; otherwise undefined (the caller does without).
   */
  tryReserve(bytes: number, keepFree = 0): Reservation | undefined {
    return this.waiting.length === 0 && this.fits(bytes, keepFree) ? this.grant(bytes) : undefined;
  }

  private fits(bytes: number, keepFree: number): boolean {
    return this.reserved + bytes + keepFree <= this.total;
  }

  private grant(bytes: number): Reservation {
    this.reserved += bytes;
    let held = true;
    return {
      bytes,
      release: () => {
        if (!held) return;
        held = false;
        this.reserved -= bytes;
        this.wakeWaiting();
      },
    };
  }

  private wakeWaiting(): void {
    while (this.waiting.length > 0 && this.fits(this.waiting[0].bytes, 0)) {
      const { bytes, grant } = this.waiting.shift()!;
      grant(this.grant(bytes));
    }
  }
}
