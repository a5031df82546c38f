/**
 * A new version of a file told as what changed since a committed version of it (its
 * base), so that storing it stores only what changed (Controller.storeEdit): an
 * append to a large file, or a write into its middle, stores the stripes it touched,
 * not the whole file again; growing a file (truncate, a write past its end) leaves a
 * hole, which costs nothing.
 *
 * Stripe i is the bytes [i * stripe, (i + 1) * stripe) of the new version. A stripe
 * in `changed` is read from the editor (readChanged); any other is the base's bytes
 * below `baseLimit`, then zeros. How the new version is stored:
 * - if the new version is striped (over two stripes, see part-splitter.ts), part by
 *   part: a changed stripe is stored; an unchanged one that is exactly a part of the
 *   base is kept (the same chunk, not copied); one past what is left of the base, or
 *   over a hole of it, is a hole; anything else (the base's last stripe, grown or
 *   cut, or a base cut into halves) is read from the base and stored;
 * - otherwise (a small file, which is cut into halves) the whole content is read
 *   and stored anew, as any write.
 *
 * Invariant the editor keeps: every stripe whose bytes are not the base's below
 * baseLimit and zeros beyond is in `changed`, including the stripe in which the size
 * changed when it grew or shrank to the middle of a stripe.
 */
import type { FileSnapshot } from './controller';
import { partsInRange } from './parts-in-range';
import { isStriped } from './part-splitter';
import type { PlannedPart } from './part-writer';

export interface FileEdit {
  base: FileSnapshot;
  /** The new version's size. */
  size: number;
  /** How much of the base the unchanged stripes still show: at most the base's size, and at most any size the file was cut to since. */
  baseLimit: number;
  /** Stripes (by index) whose bytes come from readChanged. */
  changed: ReadonlySet<number>;
  /** The new bytes [offset, offset + length) of a changed stripe. */
  readChanged(offset: number, length: number): Promise<Buffer>;
}

/** Reads bytes of the base at `offset` into all of `into`. */
export type BaseReader = (offset: number, into: Buffer) => Promise<void>;

/** True if the edit is stored part by part: the new version is striped, part i at stripe i. */
export function editsByPart(edit: FileEdit, stripeSize: number): boolean {
  return isStriped(edit.size, stripeSize);
}

/**
 * The parts of the new version, for an edit that editsByPart: stored, kept or left
 * out as a hole (see above). With `reuse` false nothing is kept: unchanged stripes
 * are read from the base and stored anew.
 */
export async function* plannedParts(edit: FileEdit, stripeSize: number, readBase: BaseReader, reuse: boolean): AsyncGenerator<PlannedPart> {
  for (const stripe of stripesWithBytes(edit, stripeSize)) {
    const { idx, offset, length } = stripe;
    if (!edit.changed.has(idx)) {
      const fromBase = Math.min(length, edit.baseLimit - offset);
      const inBase = fromBase > 0 ? partsInRange(edit.base.parts, offset, fromBase) : [];
      if (inBase.length === 0) continue; // zeros: a hole
      const [part] = inBase;
      if (reuse && fromBase === length && part.idx === idx && part.offset === offset && part.size === length) {
        yield { idx, offset, kept: part };
        continue;
      }
    }
    yield { idx, offset, bytes: { data: await stripeBytes(edit, stripe, readBase) } };
  }
}

/** The whole content of the new version, a stripe at a time (for an edit that is not stored part by part). */
export async function* editedContent(edit: FileEdit, stripeSize: number, readBase: BaseReader): AsyncGenerator<Buffer> {
  for (const stripe of stripesOf(edit, stripeSize)) yield stripeBytes(edit, stripe, readBase);
}

interface Stripe {
  idx: number;
  offset: number;
  length: number;
}

/** Stripe `idx` of the new version (its last one may be short). */
function stripeAt(edit: FileEdit, idx: number, stripeSize: number): Stripe {
  const offset = idx * stripeSize;
  return { idx, offset, length: Math.min(stripeSize, edit.size - offset) };
}

/** The stripes of the new version, in order. */
function* stripesOf(edit: FileEdit, stripeSize: number): Generator<Stripe> {
  for (let idx = 0; idx * stripeSize < edit.size; idx++) yield stripeAt(edit, idx, stripeSize);
}

/**
 * The stripes of the new version that may hold anything but zeros, in order: those
 * changed, and those over a part of the base below baseLimit. Every other stripe is a
 * hole and is never looked at, so an edit takes time for the stripes it stores, not
 * for the file's size: a byte written at 1 TiB into an empty file is one stripe, not
 * a loop over 262144 of them on the event loop.
 */
function* stripesWithBytes(edit: FileEdit, stripeSize: number): Generator<Stripe> {
  const indexes = new Set(edit.changed);
  for (const part of edit.base.parts) {
    const end = Math.min(part.offset + part.size, edit.baseLimit);
    for (let idx = Math.floor(part.offset / stripeSize); idx * stripeSize < end; idx++) indexes.add(idx);
  }
  for (const idx of [...indexes].sort((a, b) => a - b)) {
    if (idx * stripeSize < edit.size) yield stripeAt(edit, idx, stripeSize);
  }
}

/** A stripe's bytes in the new version: the editor's if changed, else the base's below baseLimit and zeros after. */
async function stripeBytes(edit: FileEdit, { idx, offset, length }: Stripe, readBase: BaseReader): Promise<Buffer> {
  if (edit.changed.has(idx)) return edit.readChanged(offset, length);
  const data = Buffer.alloc(length);
  const fromBase = Math.max(0, Math.min(length, edit.baseLimit - offset));
  if (fromBase > 0) await readBase(offset, data.subarray(0, fromBase));
  return data;
}
