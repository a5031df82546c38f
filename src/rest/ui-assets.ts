/**
 * Where the dashboard's built files are and how its HTML pages go out. `npm run
 * build` compiles the page scripts (src/rest/ui/*.ts, with src/common/format.ts,
 * which they share with the server) to ES modules in dist/browser/ and copies the
 * HTML and CSS next to them (dist/browser/rest/ui/); the server, running from
 * dist/src/rest/, finds them relative to itself.
 *
 * Invariants:
 * - Every response under /ui (pages, assets, redirects, errors: uiHeaders, which
 *   server.ts mounts before anything else there) carries `Cache-Control: no-cache`
 *   (the browser revalidates, so a rebuilt dashboard is picked up at once),
 *   `X-Content-Type-Options: nosniff`, and the dashboard's Content-Security-Policy,
 *   which allows only this origin's own scripts, styles and requests: no inline
 *   script runs, and no other site may frame the page. So a page has the same policy
 *   whatever path reaches it (/ui/, or its file under /ui/assets/), and so does the
 *   HTML body of a redirect.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RequestHandler, Response } from 'express';

/** The root of the browser build; served under /ui/assets/. */
export const UI_ASSETS_DIR = path.join(__dirname, '..', '..', 'browser');
/** The dashboard's pages, styles and scripts inside it. */
export const UI_PAGES_DIR = path.join(UI_ASSETS_DIR, 'rest', 'ui');

const UI_HEADERS: Readonly<Record<string, string>> = {
  'Cache-Control': 'no-cache',
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
};

/** Sets the headers every response under /ui carries (see the invariants above). */
export const uiHeaders: RequestHandler = (_req, res, next) => {
  res.set(UI_HEADERS);
  next();
};

/**
 * Sends page `name` (e.g. 'index.html') with `status`; each key of `replace` found in
 * the page is replaced by its value (fixed markers only; values are not escaped).
 */
export async function sendPage(res: Response, name: string, status = 200, replace: Record<string, string> = {}): Promise<void> {
  let html: string;
  try {
    html = await readFile(path.join(UI_PAGES_DIR, name), 'utf8');
  } catch (err) {
    throw new Error(`the dashboard is not built (${(err as Error).message}); run npm run build`);
  }
  for (const [marker, value] of Object.entries(replace)) html = html.replace(marker, value);
  res.status(status).set('Content-Type', 'text/html; charset=utf-8').send(html);
}
