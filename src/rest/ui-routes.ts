/**
 * The web dashboard (mounted at /ui, behind the same auth as every route):
 *
 *   GET /ui               redirects to /ui/ (the page's relative URLs need the slash)
 *   GET /ui/              the dashboard page: cluster health, file browser, uploads
 *   GET /ui/assets/...    its scripts and styles (the browser build, ui-assets.ts);
 *                         a directory there is no asset (404, no redirect)
 *
 * Other methods on these paths are answered 405 with Allow, as on every route.
 * The page is static; everything it shows comes from the JSON API (GET /status,
 * GET /fs/DIR/, GET /files/ID/info) and it changes the store only through the API
 * (PUT and DELETE /fs/PATH), so it can do nothing a script could not.
 */
import express, { Router } from 'express';
import { methodNotAllowed } from './errors';
import { UI_ASSETS_DIR, sendPage } from './ui-assets';

export interface UiOptions {
  /** A token is required: the page offers to log out. */
  login: boolean;
}

export function uiRoutes(options: UiOptions): Router {
  const router = Router();
  router.get('/', async (req, res) => {
    if (!req.originalUrl.split('?')[0].endsWith('/')) {
      res.redirect(301, '/ui/');
      return;
    }
    await sendPage(res, 'index.html', 200, options.login ? { 'data-login="off"': 'data-login="on"' } : {});
  });
  router.all('/', methodNotAllowed(['GET', 'HEAD']));
  router.use('/assets', express.static(UI_ASSETS_DIR, { index: false, redirect: false, dotfiles: 'ignore', cacheControl: false }));
  router.all('/assets{/*path}', methodNotAllowed(['GET', 'HEAD']));
  return router;
}
