/**
 * A maintenance pass that runs now and then in the background (repair, scrub, the
 * doomed-copy collector) and on demand, and reports its progress.
 *
 * Invariants:
 * - Passes never overlap: a background tick while a pass runs is skipped; an
 *   on-demand run waits for the pass under way, then runs its own (so it sees the
 *   state as of its request).
 * - A pass fills a fresh report object as it goes; `progress` shows it live while
 *   the pass runs, and after it the last finished pass that had something to do.
 * - A background pass that throws is logged, never fatal.
 * - Every pass that ends, finished or failed, is handed to the end listeners
 *   (onEnd) in the same synchronous step that takes it out of `progress.current`,
 *   so a reader of both never sees a report twice or not at all (pass-totals.ts).
 */
import { createLogger, errorMessage } from '../common/log';

/** Errors a pass report keeps (the first few: the log has them all). */
const REPORTED_ERRORS = 5;

/** Adds an error to a pass report unless it already holds REPORTED_ERRORS. */
export function noteError(report: { errors: string[] }, message: string): void {
  if (report.errors.length < REPORTED_ERRORS) report.errors.push(message);
}

export interface PassProgress<R> {
  running: boolean;
  /** Passes finished since the controller started. */
  passes: number;
  /** The pass under way, as far as it got. */
  current: R | null;
  /** The last pass that finished. */
  last: R | null;
}

export class PeriodicPass<R, A = void> {
  private readonly log;
  private timer?: NodeJS.Timeout;
  private running?: Promise<R>;
  private current: R | null = null;
  private last: R | null = null;
  private passes = 0;
  private readonly endListeners: Array<(report: R) => void> = [];

  constructor(
    name: string,
    private readonly newReport: () => R,
    /** Fills `report`; resolving with false means there was nothing to do (`last` keeps the previous report). */
    private readonly pass: (report: R, arg: A) => Promise<boolean | void>,
  ) {
    this.log = createLogger(name);
  }

  /** Runs a pass with `arg` every `intervalMs` (0: never). */
  start(intervalMs: number, arg: A): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (!this.running) this.runNow(arg).catch((err) => this.log.warn('background pass failed', { error: errorMessage(err) }));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Runs a pass once the one under way (if any) is over; resolves with its report. */
  runNow(arg: A): Promise<R> {
    const previous = this.running ?? Promise.resolve();
    const next: Promise<R> = previous.catch(() => undefined).then(async () => {
      const report = this.newReport();
      this.current = report;
      try {
        if ((await this.pass(report, arg)) !== false) this.last = report;
        this.passes += 1;
        return report;
      } finally {
        this.current = null;
        if (this.running === next) this.running = undefined;
        for (const listener of this.endListeners) listener(report);
      }
    });
    this.running = next;
    return next;
  }

  /** Calls `listener` with the report of every pass that ends, finished or failed. */
  onEnd(listener: (report: R) => void): void {
    this.endListeners.push(listener);
  }

  get progress(): PassProgress<R> {
    return { running: this.running !== undefined, passes: this.passes, current: this.current, last: this.last };
  }
}
