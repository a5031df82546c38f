/**
 * The dashboard's login, the one part of the facade served without the token
 * (server.ts mounts it at /ui before auth.ts):
 *
 *   GET  /ui/login    a form asking for the REST token (its stylesheet: /ui/login.css,
 *                     the dashboard's own, public like the form)
 *   POST /ui/login    checks the token (form field `token`) with auth.ts's constant-time
 *                     comparison: right -> sets the token cookie (HttpOnly,
 *                     SameSite=Strict) and redirects (303) to /ui/; wrong or missing ->
 *                     401 with the form again
 *   POST /ui/logout   clears the cookie and redirects (303) to the login page
 *
 * Without a token there is nothing to log in to: each of these redirects to /ui/.
 * The cookie lives until the browser closes (no Max-Age). Without TLS it cannot be
 * `Secure`, like the bearer header it travels in the clear.
 */
import path from 'node:path';
import express, { Router } from 'express';
import { LOGIN_PAGE, TOKEN_COOKIE, TOKEN_COOKIE_OPTIONS, tokenMatcher } from './auth';
import { methodNotAllowed } from './errors';
import { UI_PAGES_DIR, sendPage } from './ui-assets';

/** Where the login page shows why the last attempt failed. */
const MESSAGE_MARKER = '<!--message-->';

export function uiLoginRoutes(token: string | undefined): Router {
  const router = Router();
  if (token === undefined) {
    router.all(['/login', '/logout'], (_req, res) => { res.redirect(303, '/ui/'); });
    return router;
  }
  const matches = tokenMatcher(token);
  const form = express.urlencoded({ extended: false, limit: '16kb' });

  router.get('/login', async (_req, res) => { await sendPage(res, 'login.html'); });
  router.get('/login.css', (_req, res) => { res.sendFile(path.join(UI_PAGES_DIR, 'style.css'), { cacheControl: false }); });
  router.all('/login.css', methodNotAllowed(['GET', 'HEAD']));
  router.post('/login', form, async (req, res) => {
    const presented: unknown = (req.body as Record<string, unknown> | undefined)?.token;
    if (typeof presented === 'string' && matches(presented)) {
      res.cookie(TOKEN_COOKIE, token, TOKEN_COOKIE_OPTIONS).redirect(303, '/ui/');
      return;
    }
    const why = typeof presented === 'string' && presented !== '' ? 'That token is not valid.' : 'Enter the token.';
    await sendPage(res, 'login.html', 401, { [MESSAGE_MARKER]: `<p class="form-error" id="login-error" role="alert">${why}</p>` });
  });
  router.all('/login', methodNotAllowed(['GET', 'HEAD', 'POST']));

  router.post('/logout', (_req, res) => { res.clearCookie(TOKEN_COOKIE, TOKEN_COOKIE_OPTIONS).redirect(303, LOGIN_PAGE); });
  router.all('/logout', methodNotAllowed(['POST']));
  return router;
}
