/**
 * The streaming endpoints (mounted at /fs): the tree by path, for real file sizes.
 *
 *   GET    /fs/PATH          the file's bytes (Range: 206 / 416), or, for a
 *                            directory (or any PATH ending in '/'), its listing as JSON
 *                            (sent a page at a time: json-pages.ts);
 *                            ?download=true asks the browser to save the file
 *                            (Content-Disposition: attachment with its name)
 *   HEAD   /fs/PATH          the same headers, no body
 *   PUT    /fs/PATH          the raw request body becomes the file (created or
 *                            replaced, parents created); Content-Type is stored.
 *                            201 created / 200 replaced, as the commit found the
 *                            path (write-outcome.ts), with the new ETag.
 *                            PUT /fs/DIR/ makes a directory (201, or 200 if it was there).
 *   DELETE /fs/PATH          removes a file or an empty directory;
 *                            ?recursive=true removes a directory with its contents;
 *                            DELETE /fs/FILE/ is 409 (not a directory)
 *
 * GET and HEAD answer If-None-Match / If-Modified-Since with 304; PUT and DELETE
 * with If-Match, If-None-Match or If-Unmodified-Since change the file only if they
 * hold when it commits, else 412 (preconditions.ts).
 *
 * Invariant: bodies stream both ways, never held whole (upload-source.ts,
 * download.ts), and a PUT that does not complete changes nothing (the core commits
 * only whole files). Every route resolves its path with fsTarget (fs-path.ts).
 */
import { Router, type Request } from 'express';
import type { Controller, Entry } from '../core/controller';
import { contentDisposition, sendSnapshot } from './download';
import { HttpError, methodNotAllowed } from './errors';
import { checkDirectoryTarget, fsTarget } from './fs-path';
import { mediaType } from './media-type';
import { validatorsOf, writeCondition } from './preconditions';
import { keysetPages, sendJsonPages } from './json-pages';
import { fileJson, listedEntryJson } from './representations';
import type { TransferLimits } from './transfer-limits';
import { withRoomWait } from './room-wait';
import { requestBody } from './upload-source';
import { WriteOutcome } from './write-outcome';

/** Every path below the mount point; a RegExp so express leaves the raw path to fsTarget. */
const ANY_PATH = /.*/;

export function fsRoutes(controller: Controller, limits: TransferLimits): Router {
  const router = Router();

  router.get(ANY_PATH, async (req, res) => {
    const { path, directory } = fsTarget(req);
    if (directory || controller.stat(path).kind === 'dir') {
      const pages = keysetPages('', (after, limit) => controller.list(path, after, limit), (entry) => entry.name);
      await sendJsonPages(res, { path }, 'entries', pages, (entry) => listedEntryJson(path, entry));
      return;
    }
    const snapshot = controller.snapshot(path);
    const headers: Record<string, string> = {};
    if (booleanQuery(req, 'download')) headers['Content-Disposition'] = contentDisposition('attachment', snapshot.entry.name);
    await sendSnapshot(req, res, controller, snapshot, limits, headers);
  });

  router.put(ANY_PATH, async (req, res) => {
    const { path, directory } = fsTarget(req);
    if (directory) {
      // One synchronous step (mkdir is one transaction): nothing comes between the lookup and the mkdir.
      const existed = controller.lookup(path) !== undefined;
      const dir = controller.mkdir(path, { parents: true });
      res.status(existed ? 200 : 201).json({ id: dir.id, path, type: 'dir' });
      return;
    }
    const contentType = mediaType(req.headers['content-type'], 'Content-Type');
    const body = controller.metrics.rest.receiving(requestBody(req, limits.maxUploadBytes));
    const outcome = new WriteOutcome(writeCondition(req));
    const options = { contentType, parents: true, precondition: outcome.precondition };
    const entry = await withRoomWait(res, controller, limits.roomWaitMs, ({ signal }) => controller.writeFile(path, body, options, signal));
    res.status(outcome.created ? 201 : 200).set('ETag', validatorsOf(entry).ETag).json(fileJson(entry, path));
  });

  router.delete(ANY_PATH, (req, res) => {
    const target = fsTarget(req);
    const condition = writeCondition(req);
    // Both checked in the remove's own transaction, on what it is about to remove.
    const precondition = (entry: Entry | undefined) => {
      checkDirectoryTarget(target, entry);
      condition?.(entry);
    };
    controller.remove(target.path, { recursive: booleanQuery(req, 'recursive'), precondition });
    res.status(204).end();
  });

  router.all(ANY_PATH, methodNotAllowed(['GET', 'HEAD', 'PUT', 'DELETE']));
  return router;
}

function booleanQuery(req: Request, name: string): boolean {
  const value = req.query[name];
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === '' || value === 'true' || value === '1') return true;
  throw new HttpError(400, `query parameter ${name} must be true or false`);
}
