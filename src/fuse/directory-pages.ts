/**
 * A directory listed to the kernel a page at a time, so that listing a directory of
 * a million entries holds one page of them in the controller, not all of them (whole,
 * such a listing took the controller's memory from 75 MB to 1.2 GB).
 *
 * Kernel and libfuse 2 contract: readdir(path, offset) lists entries from `offset`
 * on, each with the offset of the entry after it (its cookie); libfuse replies with
 * what fits in the kernel's buffer, and the kernel asks again from the cookie of the
 * last entry it took. Cookies of 0 mean "the whole listing" instead: libfuse keeps it
 * and serves every later request of that open directory from it, without asking
 * again until a rewind (offset 0).
 *
 * Cookies: `.` is followed by 1, `..` by 2, the name held by row N (an Entry's
 * nameId: its id, or a hard link's own) by N + 2. Pages go in the order of those
 * rows, whose ids are never reused, so a page starts right after the name whose
 * cookie it got, even if that entry has been deleted since (`rm -r` deletes as it
 * lists): every entry present for the whole listing is listed exactly once, and one
 * created or moved in meanwhile may or may not be, as POSIX allows.
 *
 * A directory of at most WHOLE_LISTING_MAX entries is listed whole, in one call:
 * `ls` of a few thousand files costs one round trip to JS, as before pages.
 */
import type { Controller, Entry } from '../core/controller';

/** Directories up to this many entries are listed in one call. */
export const WHOLE_LISTING_MAX = 4096;
/** Entries per page of a larger directory (the kernel takes ~700 names of 20 bytes per request). */
export const PAGE_ENTRIES = 512;

const AFTER_DOT = 1;
const AFTER_DOTDOT = 2;
/** An entry's cookie less its id. */
const ID_COOKIE_BASE = 2;

/** What one readdir call lists, in order: `.` and `..` (from the first page), then entries. */
export interface ListingPage {
  dir: Entry;
  dots: Array<'.' | '..'>;
  entries: Entry[];
  /** The cookie after each name listed (dots first), or empty for the whole listing. */
  cookies: number[];
}

/** The page of the directory at `path` that starts at the kernel's `offset`. */
export function listingPage(controller: Controller, path: string, offset: number): ListingPage {
  if (offset === 0) {
    const { dir, entries } = controller.directoryPage(path, 0, WHOLE_LISTING_MAX + 1);
    if (entries.length <= WHOLE_LISTING_MAX) return { dir, dots: ['.', '..'], entries, cookies: [] };
    return paged(dir, ['.', '..'], entries.slice(0, PAGE_ENTRIES));
  }
  const afterId = offset <= AFTER_DOTDOT ? 0 : offset - ID_COOKIE_BASE;
  const { dir, entries } = controller.directoryPage(path, afterId, PAGE_ENTRIES);
  return paged(dir, offset === AFTER_DOT ? ['..'] : [], entries);
}

function paged(dir: Entry, dots: Array<'.' | '..'>, entries: Entry[]): ListingPage {
  const dotCookies = dots.map((d) => (d === '.' ? AFTER_DOT : AFTER_DOTDOT));
  return { dir, dots, entries, cookies: [...dotCookies, ...entries.map((e) => e.nameId + ID_COOKIE_BASE)] };
}
