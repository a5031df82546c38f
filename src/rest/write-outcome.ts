/**
 * Whether a write made its file or replaced one (PUT /fs answers 201 or 200), as
 * its commit found the path.
 *
 * Invariant: the answer is what the commit's own transaction saw. The core calls a
 * write's precondition once before anything is stored and again inside the commit's
 * transaction, just before it makes the file or replaces its content
 * (WriteTarget.precondition, file-tree.ts); `precondition` notes what each call finds,
 * and the last call is the commit's. A lookup made before the body streams cannot
 * tell: of several PUTs creating one new path at once, every one would find nothing
 * there and answer 201, though only the first to commit made the file.
 */
import type { Entry, WriteOptions } from '../core/controller';

type Precondition = NonNullable<WriteOptions['precondition']>;

export class WriteOutcome {
  private foundFile: boolean | undefined;

  /** @param condition the write's own conditions (conditional requests), checked first */
  constructor(private readonly condition: Precondition | undefined) {}

  /** The precondition to give the write: `condition`, then a note of what is at the path. */
  readonly precondition: Precondition = (existing: Entry | undefined) => {
    this.condition?.(existing);
    this.foundFile = existing !== undefined;
  };

  /** Whether the write made the file; read once it has committed. */
  get created(): boolean {
    if (this.foundFile === undefined) throw new Error('WriteOutcome.created read before the write was checked');
    return !this.foundFile;
  }
}
