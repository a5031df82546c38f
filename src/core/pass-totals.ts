/**
 * Running totals of a maintenance pass's counts (copies made, bytes verified, ...)
 * since the controller started, for the metrics' counters: the sum over every pass
 * that ended, finished or failed, plus the pass under way as far as it got. So a
 * counter grows while a long pass runs instead of jumping when it ends.
 *
 * Invariant: a total never decreases. A report's counts only grow while its pass
 * runs, and PeriodicPass hands it to onEnd in the same synchronous step that takes it
 * out of `progress.current`, so it is counted once as under way or once as ended.
 */
import { PeriodicPass } from './periodic-pass';

/** The fields of a report that are counts. */
export type CountField<R> = { [K in keyof R]: R[K] extends number ? K : never }[keyof R];

/** What the totals need of a PeriodicPass, whatever its pass argument. */
export type ObservedPass<R> = Pick<PeriodicPass<R>, 'onEnd' | 'progress'>;

export class PassTotals<R> {
  private readonly ended = new Map<CountField<R>, number>();

  constructor(private readonly pass: ObservedPass<R>, fields: ReadonlyArray<CountField<R>>) {
    pass.onEnd((report) => {
      for (const field of fields) this.ended.set(field, (this.ended.get(field) ?? 0) + (report[field] as number));
    });
  }

  /** Passes finished since the controller started (background checks with nothing to do included). */
  passes(): number {
    return this.pass.progress.passes;
  }

  /** The sum of `field` over every pass so far, the one under way included. */
  total(field: CountField<R>): number {
    const current = this.pass.progress.current;
    return (this.ended.get(field) ?? 0) + (current ? (current[field] as number) : 0);
  }
}
