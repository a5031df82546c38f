/**
 * The dashboard page's entry point: wires the views (health.ts, files.ts,
 * uploads.ts) to the page and keeps them live by polling GET /status and the shown
 * directory every POLL_MS while the page is visible.
 *
 * Invariants:
 * - One poll at a time: the next starts POLL_MS after the last one ended, so a slow
 *   server is never flooded.
 * - Losing the server is shown in the header, in words, and announced once; so is
 *   getting it back.
 */
import { announce } from './announce.js';
import { getStatus } from './api.js';
import { byId } from './dom.js';
import { FileBrowser, directoryFromHash } from './files.js';
import { HealthView } from './health.js';
import { Uploader } from './uploads.js';

const POLL_MS = 1_500;
const CLOCK = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

const health = new HealthView();
const files = new FileBrowser();
new Uploader(files, byId('uploads')).attach(byId('drop-zone'), byId<HTMLInputElement>('file-input'));

let connected: boolean | undefined;
/** A poll is under way or waiting for its turn (none while the page is hidden). */
let polling = false;

function showConnection(ok: boolean, detail: string): void {
  const line = byId('connection');
  line.dataset.state = ok ? 'live' : 'lost';
  line.textContent = ok ? `Live · updated ${CLOCK.format(new Date())}` : `Connection lost: ${detail}. Retrying…`;
  if (connected !== undefined && connected !== ok) announce(ok ? 'Connected to the controller again.' : `Connection to the controller lost: ${detail}.`);
  connected = ok;
}

async function poll(): Promise<void> {
  try {
    health.render(await getStatus(), Date.now());
    await files.refresh();
    showConnection(true, '');
  } catch (err) {
    showConnection(false, err instanceof Error ? err.message : String(err));
  }
  if (document.hidden) polling = false;
  else window.setTimeout(() => void poll(), POLL_MS);
}

function startPolling(): void {
  if (polling) return;
  polling = true;
  void poll();
}

document.addEventListener('visibilitychange', () => { if (!document.hidden) startPolling(); });
window.addEventListener('hashchange', () => {
  void files.show(directoryFromHash(window.location.hash)).catch((err) => files.report(err));
});

void files.show(directoryFromHash(window.location.hash)).catch((err) => files.report(err));
startPolling();
