/**
 * Optional token authentication for the REST facade. When a token is set, every
 * request must present it, in one of two ways:
 * - `Authorization: Bearer <token>` (scripts, `raidfs status`, curl);
 * - the `raidfs_token` cookie, which the dashboard's login page sets (ui-login.ts),
 *   since a browser cannot add a header to a page navigation or a download link.
 * Anything else is refused before any route runs: opening the dashboard page
 * (GET /ui, /ui/) is redirected (303) to the login page, every other request is
 * answered 401 with a JSON error. Only the login page itself is served without the
 * token (server.ts mounts it before this middleware).
 *
 * Invariants:
 * - The comparison takes the same time whatever the presented token is (both sides
 *   are hashed to equal-length digests, then compared with timingSafeEqual), so
 *   response timing reveals nothing about the token.
 * - A request authenticated by the cookie alone may change something (any method
 *   but GET and HEAD) only if its Origin header names this very host, else 403:
 *   SameSite=Strict keeps the cookie off other sites' requests, but a page served
 *   from another port of the same host counts as the same site.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { CookieOptions, Request, RequestHandler } from 'express';

/** The cookie that carries the token for a browser. */
export const TOKEN_COOKIE = 'raidfs_token';
/** Its attributes: never readable by scripts, never sent along with another site's requests. */
export const TOKEN_COOKIE_OPTIONS: CookieOptions = { httpOnly: true, sameSite: 'strict', path: '/' };
/** Where a browser without the token is sent. */
export const LOGIN_PAGE = '/ui/login';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/** A constant-time check of a presented token against `token`. */
export function tokenMatcher(token: string): (presented: string | undefined) => boolean {
  if (token === '') throw new Error('the REST token must not be empty');
  const expected = digest(token);
  return (presented) => presented !== undefined && timingSafeEqual(digest(presented), expected);
}

export function tokenAuth(token: string): RequestHandler {
  const matches = tokenMatcher(token);
  return (req, res, next) => {
    const bearer = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')?.[1];
    if (matches(bearer)) {
      next();
      return;
    }
    const cookie = bearer === undefined ? cookieValue(req, TOKEN_COOKIE) : undefined;
    if (matches(cookie)) {
      if (req.method === 'GET' || req.method === 'HEAD' || fromOwnOrigin(req)) next();
      else res.status(403).json({ error: `${req.method} with the login cookie must come from the dashboard's own origin` });
      return;
    }
    if (bearer === undefined && (req.method === 'GET' || req.method === 'HEAD') && (req.path === '/ui' || req.path === '/ui/')) {
      res.redirect(303, LOGIN_PAGE);
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="raidfs"');
    res.status(401).json({
      error: bearer !== undefined ? 'invalid bearer token'
        : cookie !== undefined ? `invalid token cookie; log in again at ${LOGIN_PAGE}`
          : 'missing bearer token (Authorization: Bearer <token>)',
    });
  };
}

/** The (percent-decoded) value of cookie `name`, if the request has a well-formed one. */
function cookieValue(req: Request, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const eq = pair.indexOf('=');
    if (eq < 0 || pair.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function fromOwnOrigin(req: Request): boolean {
  try {
    return req.headers.origin !== undefined && new URL(req.headers.origin).host === req.headers.host;
  } catch {
    return false;
  }
}
