/**
 * Sends one committed version of a file (a FileSnapshot) as an HTTP response: the
 * whole file (200) or one byte range (206); HEAD is answered from metadata alone.
 *
 * Invariants:
 * - Status, length and validators (ETag = id and content version) describe the
 *   snapshot whose bytes are streamed, so a file replaced mid-download never yields a
 *   mixed body.
 * - The first part is fetched before the status line goes out: if no node can serve
 *   it, the client gets a JSON error (503/500), not a 200 with an empty body.
 * - Memory is bounded whatever the file size and however many clients download at
 *   once, however slowly: the parts a download holds (the one it is sending and those
 *   read ahead) are reserved in the controller's REST memory budget
 *   (Controller.lendSnapshot), and each is given back once the socket has taken its
 *   bytes (the write's callback), never before. A download that finds no room waits
 *   for it; before its first byte, for at most `roomWaitMs`, then it gets 503
 *   with Retry-After (room-wait.ts). A client that leaves stops the wait.
 * - A failure after the first byte cuts the connection (errors.ts): the body comes up
 *   short of Content-Length, so the client can tell.
 * - The snapshot is held (Controller.hold) from the caller's read of it until the
 *   response ends, so a slow download of a file replaced meanwhile still gets the
 *   version it started with, however long it takes. The callers read the snapshot
 *   and call this in one synchronous step. Whatever ends the response, the part
 *   stream is closed, so the parts it borrowed go back to the chunk cache.
 * - File bytes never run as part of this site: the stored Content-Type goes out with
 *   `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox`, so an
 *   uploaded HTML file opened in a browser that holds the dashboard's login cookie
 *   renders without scripts, in an origin of its own.
 *
 * Conditional requests (If-None-Match, If-Modified-Since: 304; If-Match: 412) are
 * answered before anything is fetched (preconditions.ts).
 *
 * Ranges: one `bytes=` range (overlapping ones are combined; a suffix longer than the
 * file is all of it). Unsatisfiable -> 416 with `Content-Range: bytes *\/SIZE`.
 * Several disjoint ranges, a malformed header, or an If-Range that is not the current
 * ETag (a date included: see requestedRange) get the whole file (200), as RFC 9110
 * allows.
 */
import type { Request, Response } from 'express';
import type { Controller, FileSnapshot } from '../core/controller';
import { HttpError } from './errors';
import { DEFAULT_MEDIA_TYPE } from './media-type';
import { readCondition, Validators, validatorsOf } from './preconditions';
import { clientLeft, withRoomWait } from './room-wait';
import type { TransferLimits } from './transfer-limits';

interface ByteRange {
  start: number;
  end: number;
}

export async function sendSnapshot(req: Request, res: Response, controller: Controller, snapshot: FileSnapshot,
  limits: Pick<TransferLimits, 'roomWaitMs'>, extraHeaders: Record<string, string> = {}): Promise<void> {
  const { entry } = snapshot;
  const validators = validatorsOf(entry);
  if (readCondition(req, entry) === 'not-modified') {
    res.writeHead(304, { ...validators }).end();
    return;
  }
  const range = requestedRange(req, entry.size, validators);
  const headers: Record<string, string> = {
    'Content-Type': entry.contentType ?? DEFAULT_MEDIA_TYPE,
    'Content-Length': String(range ? range.end - range.start + 1 : entry.size),
    'Accept-Ranges': 'bytes',
    ...validators,
    ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${entry.size}` } : {}),
    'X-Content-Type-Options': 'nosniff',
    'Content-Security-Policy': 'sandbox',
    ...extraHeaders,
  };
  const status = range ? 206 : 200;
  if (req.method === 'HEAD') {
    res.writeHead(status, headers).end();
    return;
  }
  const pin = controller.hold(snapshot);
  controller.noteRead(entry.id);
  try {
    await withRoomWait(res, controller, limits.roomWaitMs, async (wait) => {
      const pieces = controller.lendSnapshot(snapshot, range ?? {}, wait.signal);
      try {
        let piece = await pieces.next();
        wait.started();
        res.writeHead(status, headers);
        for (; !piece.done; piece = await pieces.next()) {
          await written(res, piece.value);
          controller.metrics.rest.sent(piece.value.length);
        }
        res.end();
      } finally {
        // Gives back the part lent last (and any read ahead), also when the client left mid-body.
        await pieces.return(undefined);
      }
    });
  } finally {
    pin.release();
  }
}

/**
 * Writes `data` to the response; resolves once the socket has taken all of it (the
 * kernel holds it now, so the memory may be reused), rejects if the connection closes
 * first (then the socket no longer holds it either).
 */
function written(res: Response, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const closed = () => reject(clientLeft());
    res.once('close', closed);
    res.write(data, (err) => {
      res.off('close', closed);
      if (err) reject(err);
      else resolve();
    });
  });
}

function requestedRange(req: Request, size: number, validators: Validators): ByteRange | undefined {
  if (req.headers.range === undefined) return undefined;
  // Only the ETag (strong: the file's id and content version) validates a resume. A
  // date cannot: Last-Modified is whole seconds, and two versions written within one
  // second share it, so a resume of the first would be handed the second's bytes.
  const ifRange = req.headers['if-range'];
  if (ifRange !== undefined && ifRange !== validators.ETag) return undefined;
  // A suffix longer than the file selects all of it (RFC 9110 14.1.3); range-parser says 416.
  const suffix = /^bytes=\s*-(\d+)\s*$/.exec(req.headers.range);
  if (suffix && Number(suffix[1]) > 0 && size > 0) return { start: Math.max(0, size - Number(suffix[1])), end: size - 1 };
  const ranges = req.range(size, { combine: true });
  if (ranges === -1) throw new HttpError(416, `range not satisfiable: the file has ${size} bytes`, { 'Content-Range': `bytes */${size}` });
  if (ranges === undefined || ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return undefined;
  return { start: ranges[0].start, end: ranges[0].end };
}

/** A Content-Disposition header value naming the file (RFC 6266, its name as an RFC 5987 ext-value). */
export function contentDisposition(type: 'inline' | 'attachment', name: string): string {
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${type}; filename*=UTF-8''${encoded}`;
}
