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
 * - Memory per download is bounded whatever the file size: the next part is read only
 *   when the socket has drained (stream.pipeline; the Readable buffers at most one
 *   part), plus the core's read-ahead.
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
 * Ranges: one `bytes=` range (overlapping ones are combined). Unsatisfiable -> 416
 * with `Content-Range: bytes *\/SIZE`. Several disjoint ranges, a malformed header, or
 * an If-Range that no longer matches get the whole file (200), as RFC 9110 allows.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import type { Controller, FileSnapshot } from '../core/controller';
import { HttpError } from './errors';
import { DEFAULT_MEDIA_TYPE } from './media-type';
import { readCondition, Validators, validatorsOf } from './preconditions';

interface ByteRange {
  start: number;
  end: number;
}

export async function sendSnapshot(req: Request, res: Response, controller: Controller, snapshot: FileSnapshot,
  extraHeaders: Record<string, string> = {}): Promise<void> {
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
  const pieces = controller.readSnapshot(snapshot, range);
  try {
    const first = await pieces.next();
    res.writeHead(status, headers);
    const body = controller.metrics.rest.sending(startingWith(first, pieces));
    await pipeline(Readable.from(body, { objectMode: false, highWaterMark: 1 }), res);
  } finally {
    // A client gone before the body was first pulled leaves `pieces` suspended
    // after its first part: closing it runs its cleanup.
    await pieces.return(undefined);
    pin.release();
  }
}

function requestedRange(req: Request, size: number, validators: Validators): ByteRange | undefined {
  if (req.headers.range === undefined) return undefined;
  const ifRange = req.headers['if-range'];
  if (ifRange !== undefined && ifRange !== validators.ETag && ifRange !== validators['Last-Modified']) return undefined;
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

async function* startingWith(first: IteratorResult<Buffer>, rest: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  if (first.done) return;
  yield first.value;
  yield* rest;
}
