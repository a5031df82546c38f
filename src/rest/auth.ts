/**
 * Optional bearer-token authentication for the REST facade. When a token is set,
 * every request, on every route, must carry `Authorization: Bearer <token>`; anything
 * else is answered 401 with a JSON error before any route runs.
 *
 * Invariant: the comparison takes the same time whatever the presented token is
 * (both sides are hashed to equal-length digests, then compared with
 * timingSafeEqual), so response timing reveals nothing about the token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

export function bearerAuth(token: string): RequestHandler {
  if (token === '') throw new Error('the REST token must not be empty');
  const expected = digest(token);
  return (req, res, next) => {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '');
    if (match && timingSafeEqual(digest(match[1]), expected)) {
      next();
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="raidfs"');
    res.status(401).json({ error: match ? 'invalid bearer token' : 'missing bearer token (Authorization: Bearer <token>)' });
  };
}
