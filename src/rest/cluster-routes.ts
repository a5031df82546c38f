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
 *                  pass's report when it is done, with what is still on the node
 *                  ("partsLeft", "uncommittedCopiesLeft": see DrainReport)
 *   DELETE /nodes/ID/drain  stops draining it ({"node", "draining": false})
 *
 * Same auth rules as every route; the core does the work (controller.ts). The
 * passes' requests wait for their pass without the server's idle timeout.
 */
import { Request, RequestHandler, Router } from 'express';
import type { Controller } from '../core/controller';
import { methodNotAllowed } from './errors';

export function clusterRoutes(controller: Controller): Router {
  const router = Router();
  router.get('/status', (_req, res) => { res.json(controller.status()); });
  router.post('/repair', answerWhenDone(() => controller.repair()));
  router.post('/scrub', answerWhenDone(() => controller.scrub()));
  router.delete('/nodes/:id', async (req, res) => { res.json(await controller.forgetNode(req.params.id)); });
  router.post('/nodes/:id/drain', answerWhenDone((req) => controller.drainNode(String(req.params.id))));
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

/**
 * A request answered with the report of a pass when the pass is done, however long it
 * takes: its connection is exempt from the server's idle timeout, which closed it
 * after 2 minutes of a longer scrub (the CLI then said the controller was
 * unreachable, and the report was lost). The client's own deadline still applies.
 */
function answerWhenDone(run: (req: Request) => Promise<unknown>): RequestHandler {
  return async (req, res) => {
    req.setTimeout(0);
    res.json(await run(req));
  };
}
