/**
 * Upload bodies as the core's writeFile consumes them: an async iterable of the
 * body's bytes, pulled at the core's pace. The socket is read only as fast as parts
 * are stored (backpressure), so memory stays bounded whatever the size of the body.
 *
 * Invariants:
 * - A body over `maxBytes` throws HttpError 413 out of the iterable (before the
 *   excess is passed on, and before reading at all when Content-Length already says
 *   so): writeFile fails and commits nothing.
 * - A body that does not end normally (client disconnected, connection reset, a
 *   multipart part cut short) throws, never ends quietly: writeFile commits only
 *   bodies that arrived whole.
 */
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { errorMessage } from '../common/log';
import { HttpError } from './errors';

export function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `upload is larger than the limit of ${maxBytes} bytes`);
}

/** The request's own body (PUT /fs), checked against its declared length first. */
export function requestBody(req: IncomingMessage, maxBytes: number): AsyncGenerator<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  return streamBytes(req, maxBytes, () => req.complete);
}

/**
 * The bytes of `stream`, at most `maxBytes` of them; `arrivedWhole` tells, once the
 * stream ended, whether it ended because the body was complete.
 */
export async function* streamBytes(stream: Readable, maxBytes: number, arrivedWhole: () => boolean = () => true): AsyncGenerator<Buffer> {
  let received = 0;
  try {
    // Not `for await (... of stream)`: that destroys the stream when the consumer stops
    // early, and destroying a request kills its connection before the error answer.
    for await (const chunk of stream.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      received += chunk.length;
      if (received > maxBytes) throw tooLarge(maxBytes);
      yield chunk;
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `upload interrupted after ${received} bytes: ${errorMessage(err)}`);
  }
  if (!arrivedWhole()) throw new HttpError(400, `upload interrupted after ${received} bytes: the body ended early`);
}
