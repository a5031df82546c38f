/**
 * The course's API, compatible with its existing clients (mounted at /files):
 *
 *   GET    /files            every regular file in the tree, by id (sent a page at a
 *                            time: json-pages.ts)
 *   POST   /files            upload into the root directory: multipart/form-data
 *                            (field "file") or JSON {filename, content_type,
 *                            contents_b64} -> 201 {"id": N, ...}
 *   GET    /files/ID         the bytes, with the stored content type (Range works)
 *   GET    /files/ID/info    metadata, parts, and the nodes holding each copy
 *   DELETE /files/ID         removes the file; its copies are deleted from the nodes
 *                            (If-Match / If-Unmodified-Since: only that version, else 412)
 *
 * IDs are the entries' stable inode numbers, the same a FUSE `stat` shows; an ID
 * that names a directory is not a file here (404). Name clashes: unique-name.ts.
 */
import express, { Request, Response, Router } from 'express';
import type { Controller, Entry, FileSnapshot } from '../core/controller';
import { contentDisposition, sendSnapshot } from './download';
import { HttpError, methodNotAllowed } from './errors';
import { jsonBodyLimit, jsonUploadMemory, parseJsonUpload } from './json-upload';
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
  const jsonMaxBytes = Math.min(limits.maxUploadBytes, limits.maxJsonUploadBytes);

  /** The file with id `param` and its path, resolved together (one synchronous step). */
  const fileById = (param: string): { snapshot: FileSnapshot; path: string } => {
    if (!/^[1-9][0-9]{0,15}$/.test(param)) throw new HttpError(400, `file id must be a positive integer, not ${JSON.stringify(param)}`);
    const id = Number(param);
    if (controller.statById(id).kind !== 'file') throw new HttpError(404, `no file with id ${id}`);
    const path = controller.pathOf(id);
    return { snapshot: controller.snapshot(path), path };
  };

  router.get('/', async (_req, res) => {
    const pages = keysetPages(0, (after, limit) => controller.filesAfter(after, limit), ({ entry }) => entry.id);
    await sendJsonPages(res, {}, 'files', pages, ({ entry, path }) => fileJson(entry, path));
  });

  const jsonLimit = jsonBodyLimit(jsonMaxBytes);
  const jsonParser = express.json({ limit: jsonLimit });
  /** Reads and parses a JSON body (into req.body) once its memory is reserved. */
  const readJsonBody = (req: Request, res: Response) => new Promise<void>((resolve, reject) => {
    jsonParser(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });

  router.post('/', async (req, res) => {
    const stored = await withRoomWait(res, controller, limits.roomWaitMs, async (wait): Promise<{ entry: Entry; path: string }> => {
      const { signal } = wait;
      if (req.is('multipart/form-data')) {
        return receiveFile(req, 'file', limits.maxUploadBytes, (file) => names.withFreeName(file.filename, async (path) => ({
          entry: await controller.writeFile(path, controller.metrics.rest.receiving(file.bytes), { contentType: mediaType(file.mimeType, 'the file part\'s Content-Type'), exclusive: true }, signal),
          path,
        })));
      }
      if (req.is('application/json')) {
        const room = await controller.reserveRestMemory(jsonUploadMemory(req.headers, jsonLimit), signal);
        wait.started(); // its one wait for room is over: the body may take its time
        try { // writeFile releases the room once stored; this, if it never gets there
          await readJsonBody(req, res);
          const upload = parseJsonUpload(req.body, jsonMaxBytes);
          controller.metrics.rest.received(upload.contents.length);
          return await names.withFreeName(upload.filename, async (path) => ({
            entry: await controller.writeFile(path, upload.contents, { contentType: upload.contentType, exclusive: true }, room),
            path,
          }));
        } finally {
          room.release();
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
    const { snapshot, path } = fileById(req.params.id);
    controller.remove(path, { precondition: writeCondition(req) });
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
