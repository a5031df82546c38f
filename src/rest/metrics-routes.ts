/**
 * The REST facade's side of the Prometheus metrics (src/core/metrics.ts):
 *
 *   GET /metrics   every metric in the Prometheus text format (the registry's
 *                  Content-Type), cluster state read at the moment of the scrape
 *
 * and, for every request that reaches it, one count of
 * raidfs_frontend_operations_total{frontend="rest", operation="METHOD /group"}.
 *
 * Invariants:
 * - Mounted after authentication, like every route: with a token set, a scrape needs
 *   it too, and only authenticated requests are counted.
 * - The operation label is the method and the route group (first path segment) from
 *   fixed sets, "GET other" for anything else: a request path never becomes a label.
 *   A new route family is counted under its own name once it is added to ROUTE_GROUPS.
 */
import { Router, type Request } from 'express';
import type { Controller } from '../core/controller';
import { methodNotAllowed } from './errors';

const ROUTE_GROUPS: ReadonlySet<string> = new Set(['files', 'fs', 'status', 'repair', 'scrub', 'metrics', 'ui']);
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);

export function metricsRoutes(controller: Controller): Router {
  const router = Router();
  const metrics = controller.metrics;
  router.use((req, _res, next) => {
    metrics.rest.operation(operationOf(req));
    next();
  });
  router.get('/metrics', async (_req, res) => {
    const text = await metrics.scrape();
    res.set('Content-Type', metrics.contentType).end(text);
  });
  router.all('/metrics', methodNotAllowed(['GET', 'HEAD']));
  return router;
}

/** "PUT /fs", "GET /files", "GET /" ...: the method and route group of a request. */
function operationOf(req: Request): string {
  const segment = /^\/([^/]*)/.exec(req.path)?.[1] ?? '';
  const group = segment === '' ? '/' : ROUTE_GROUPS.has(segment) ? `/${segment}` : 'other';
  return `${METHODS.has(req.method) ? req.method : 'OTHER'} ${group}`;
}
