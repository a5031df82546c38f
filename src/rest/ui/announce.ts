/**
 * Announcements for screen readers: status changes the user did not ask to see (a
 * node went down, an upload finished, the connection was lost) are written to the
 * page's polite live region (#announcer), one message per line, the latest few kept.
 */
import { byId, h } from './dom.js';

const KEEP = 5;

export function announce(message: string): void {
  const region = byId('announcer');
  region.append(h('p', {}, message));
  while (region.childElementCount > KEEP) region.firstElementChild?.remove();
}
