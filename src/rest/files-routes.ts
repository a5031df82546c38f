/**
 * The course's API, compatible with its existing clients (mounted at /files):
 *
 *   GET    /files            every regular file in the tree, by id (sent a page at a
 *                            time: json-pages.ts)
 *   POST   /files            upload into the root directory: multipart/form-data
 *                            (field "file") or JSON {filename, content_type,
 *                            contents_b64} (json-upload.ts); both stream
 *                            -> 201 {"id": N, ...}
 *   GET    /files/ID         the bytes, with the stored content type (Range works)
 *   GET    /files/ID/info    metadata, parts, and the nodes holding each copy, with its fault
 *   DELETE /files/ID         removes the file under every name (hard links too); its copies are deleted from the nodes
 *                            (If-Match / If-Unmodified-Since: only that version, else 412)
 *
 * IDs are the entries' stable inode numbers, the same a FUSE `stat` shows; an ID
 * that names a directory is not a file here (404), nor does one past 2^53 - 1 (no id
 * is that large; as a JS number it would round to another). Name clashes:
 * unique-name.ts.
 */
import { Router } from 'express';
import type { Controller, Entry, FileSnapshot } from '../core/controller';
import { contentDisposition, sendSnapshot } from './download';
import { HttpError, methodNotAllowed } from './errors';
import { jsonBody, JsonUploadReader } from './json-upload';
import { mediaType } from './media-type';
import { writeCondition } from './preconditions';
import { receiveFile } from './multipart';
import { keysetPages, sendJsonPages } from './json-pages';
import { fileInfoJson, fileJson } from './representations';
import { withRoomWait } from './room-wait';
import type { TransferLimits } from './transfer-limits';
import { RootNameClaims } from './unique-name';

export function filesRoutes(controller: Controller, limits: TransferLimits): Router {
  const router = Router();
  const names = new RootNameClaims(controller);

  /** The file with id `param` and its path, resolved together (one synchronous step). */
  const fileById = (param: string): { snapshot: FileSnapshot; path: string } => {
    if (!/^[1-9][0-9]*$/.test(param)) throw new HttpError(400, `file id must be a positive integer, not ${JSON.stringify(param)}`);
    const id = Number(param);
    if (!Number.isSafeInteger(id) || controller.lookupById(id)?.kind !== 'file') throw new HttpError(404, `no file with id ${param}`);
    const path = controller.pathOf(id);
    return { snapshot: controller.snapshot(path), path };
  };

  router.get('/', async (_req, res) => {
    const pages = keysetPages(0, (after, limit) => controller.filesAfter(after, limit), ({ entry }) => entry.id);
    await sendJsonPages(res, {}, 'files', pages, ({ entry, path }) => fileJson(entry, path));
  });

  router.post('/', async (req, res) => {
    const stored = await withRoomWait(res, controller, limits.roomWaitMs, async ({ signal }): Promise<{ entry: Entry; path: string }> => {
      if (req.is('multipart/form-data')) {
        return receiveFile(req, 'file', limits.maxUploadBytes, (file) => names.withFreeName(file.filename, async (path) => ({
          entry: await controller.writeFile(path, controller.metrics.rest.receiving(file.bytes), { contentType: mediaType(file.mimeType, 'the file part\'s Content-Type'), exclusive: true }, signal),
          path,
        })));
      }
      if (req.is('application/json')) {
        // Its filename may come after its contents: stored first, committed once known.
        const upload = new JsonUploadReader(jsonBody(req), limits.maxUploadBytes);
        const draft = await controller.storeUpload(controller.metrics.rest.receiving(upload.contents()), signal);
        try {
          const { filename, contentType } = await upload.finish();
          return await names.withFreeName(filename, async (path) => ({ entry: controller.commitDraft(path, draft, { contentType, exclusive: true }), path }));
        } finally {
          controller.dropDraft(draft); // unless committed (or dropped by a failed commit)
        }
      }
      throw new HttpError(415, 'POST /files takes multipart/form-data (a file part named "file") or application/json {"filename", "content_type", "contents_b64"}');
    });
    res.status(201).location(`/files/${stored.entry.id}`).json(fileJson(stored.entry, stored.path));
  });
  router.all('/', methodNotAllowed(['GET', 'HEAD', 'POST']));

  router.get('/:id', async (req, res) => {
    const { snapshot } = fileById(req.params.id);
    await sendSnapshot(req, res, controller, snapshot, limits, { 'Content-Disposition': contentDisposition('inline', snapshot.entry.name) });
  });

  router.delete('/:id', (req, res) => {
    const { snapshot } = fileById(req.params.id);
    controller.removeFile(snapshot.entry.id, { precondition: writeCondition(req) });
    res.json({ id: snapshot.entry.id, deleted: true });
  });
  router.all('/:id', methodNotAllowed(['GET', 'HEAD', 'DELETE']));

  router.get('/:id/info', (req, res) => {
    const { snapshot, path } = fileById(req.params.id);
    res.json(fileInfoJson(snapshot, path, controller.nodes()));
  });
  router.all('/:id/info', methodNotAllowed(['GET', 'HEAD']));

  return router;
}
