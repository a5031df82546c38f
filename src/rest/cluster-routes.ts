/**
 * The operator's endpoints: the cluster's health and its maintenance passes.
 *
 *   GET  /status   nodes (state, address, chunks, space, last heartbeat), parts
 *                  missing copies, repair and scrub progress (ClusterStatus)
 *   POST /repair   runs a repair pass now (every node that is down counts as lost)
 *                  and answers its report when it is done
 *   POST /scrub    runs a scrub pass now (verify every copy, find orphans) and
 *                  answers its report when it is done
 *   DELETE /nodes/ID  forgets a node that is down for good, once no part needs its
 *                  copies (404: no such node; 409: it is up, or parts need it)
 *   POST /nodes/ID/drain    starts draining a node (no new copies; its copies are
 *                  moved elsewhere by a repair pass run now) and answers that
 *                  pass's report when it is done
 *   DELETE /nodes/ID/drain  stops draining it ({"node", "draining": false})
 *
 * Same auth rules as every route; the core does the work (controller.ts).
 */
import { Router } from 'express';
import type { Controller } from '../core/controller';
import { methodNotAllowed } from './errors';

export function clusterRoutes(controller: Controller): Router {
  const router = Router();
  router.get('/status', (_req, res) => { res.json(controller.status()); });
  router.post('/repair', async (_req, res) => { res.json(await controller.repair()); });
  router.post('/scrub', async (_req, res) => { res.json(await controller.scrub()); });
  router.delete('/nodes/:id', async (req, res) => { res.json(await controller.forgetNode(req.params.id)); });
  router.post('/nodes/:id/drain', async (req, res) => { res.json(await controller.drainNode(req.params.id)); });
  router.delete('/nodes/:id/drain', (req, res) => {
    controller.stopDraining(req.params.id);
    res.json({ node: req.params.id, draining: false });
  });
  router.all('/status', methodNotAllowed(['GET', 'HEAD']));
  router.all(['/repair', '/scrub'], methodNotAllowed(['POST']));
  router.all('/nodes/:id', methodNotAllowed(['DELETE']));
  router.all('/nodes/:id/drain', methodNotAllowed(['POST', 'DELETE']));
  return router;
}
