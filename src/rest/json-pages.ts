/**
 * A JSON object with one array too large to build whole (a directory of a million
 * entries, every file in the tree), sent a page of items at a time. Built whole, the
 * listing of a directory of 1,000,000 entries took the controller to 1.5 GB and held
 * its event loop, and with it the mount, for 19 s.
 *
 * Invariants:
 * - At most one page of items is in memory; the next page is fetched only once the
 *   client has taken the last (the socket drained), and the event loop runs between
 *   pages, so the mount and other requests are served while a listing streams.
 * - The first page is fetched before anything is sent, so a request that fails at
 *   once (no such directory) gets its JSON error as usual. A failure after that can
 *   only cut the response short: its status has been sent.
 * - A client that goes away stops the listing.
 */
import type { Response } from 'express';

/** Items per page of a listing. */
const PAGE_ITEMS = 1000;

/**
 * The pages of up to PAGE_ITEMS items `fetch` returns: the first from `start`, each
 * next one from the key of the last item before (keyset paging: an item deleted
 * meanwhile does not shift the rest), until a page is short.
 */
export function* keysetPages<T, K>(start: K, fetch: (after: K, limit: number) => T[], keyOf: (item: T) => K): Generator<T[]> {
  for (let after = start; ;) {
    const page = fetch(after, PAGE_ITEMS);
    yield page;
    if (page.length < PAGE_ITEMS) return;
    after = keyOf(page[page.length - 1]);
  }
}

/** Sends `{ ...head, [member]: [every item of `pages`, as `toJson` shows it] }`, a page at a time. */
export async function sendJsonPages<T>(res: Response, head: Record<string, unknown>, member: string, pages: Iterator<T[]>, toJson: (item: T) => unknown): Promise<void> {
  let page = pages.next();
  const opening = JSON.stringify(head).slice(0, -1);
  res.status(200).type('application/json');
  res.write(`${opening}${opening.length > 1 ? ',' : ''}${JSON.stringify(member)}:[`);
  let separator = '';
  try {
    while (!page.done) {
      if (page.value.length > 0) {
        const room = res.write(separator + page.value.map((item) => JSON.stringify(toJson(item))).join(','));
        separator = ',';
        if (!(await writable(res, room))) return;
      }
      page = pages.next();
    }
    res.end(']}');
  } catch (err) {
    res.destroy(err as Error);
  }
}

/**
 * Resolves once `res` can take more and the event loop has run (true), or once it
 * closed (false). The loop must get its turn even after a 'drain': a socket that took
 * a write at once emits it from process.nextTick, and going on from there would
 * never return to the loop (a request made meanwhile waited for the whole listing).
 */
async function writable(res: Response, room: boolean): Promise<boolean> {
  if (!room && !res.destroyed) {
    await new Promise<void>((resolve) => {
      const settle = () => {
        res.off('drain', settle);
        res.off('close', settle);
        resolve();
      };
      res.on('drain', settle);
      res.on('close', settle);
    });
  }
  await new Promise((resolve) => setImmediate(resolve));
  return !res.destroyed;
}
