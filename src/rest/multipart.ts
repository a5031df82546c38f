/**
 * multipart/form-data uploads, parsed by busboy while the body streams in: the file
 * part is handed to `store` as an async iterable of its bytes as they arrive; nothing
 * ever holds the whole file.
 *
 * Invariants:
 * - Exactly one part is stored: the first file part (one with a filename) named
 *   `field`. Other parts are read and discarded.
 * - The part's bytes end normally only if the part arrived whole; a client that
 *   disconnects mid-part, or a form cut short, makes the iterable throw
 *   (upload-source.ts), so `store` commits nothing.
 * - Not multipart, malformed, or no such file part: 400.
 * - When `store` fails or the form turns out malformed, parsing stops at once and the
 *   rest of the body is read and dropped, so the connection stays usable.
 */
import busboy from 'busboy';
import type { Request } from 'express';
import { errorMessage } from '../common/log';
import { HttpError } from './errors';
import { streamBytes } from './upload-source';

interface IncomingFile {
  filename: string;
  /** The part's Content-Type (busboy: text/plain when the part has none). */
  mimeType: string;
  bytes: AsyncIterable<Buffer>;
}

export function receiveFile<T>(req: Request, field: string, maxBytes: number, store: (file: IncomingFile) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fieldSize: 64 << 10, fields: 100, parts: 1000 } });
    } catch (err) {
      reject(new HttpError(400, `not a multipart/form-data body: ${errorMessage(err)}`));
      return;
    }
    let stored: Promise<T> | undefined;
    parser.on('file', (name, stream, info) => {
      if (name !== field || stored) {
        stream.resume();
        return;
      }
      stored = info.filename === undefined
        ? Promise.reject(new HttpError(400, `the "${field}" part has no filename`))
        : store({ filename: info.filename, mimeType: info.mimeType, bytes: streamBytes(stream, maxBytes) });
      stored.then(resolve, (err) => {
        req.unpipe(parser);
        parser.destroy();
        reject(err);
      });
    });
    parser.on('error', (err) => {
      // Once a file part is being stored, a parse error reaches `store` through the part's stream.
      if (!stored) reject(new HttpError(400, `malformed multipart body: ${errorMessage(err)}`));
      // The parser is gone: read and drop the rest, even if the answer is already out.
      req.unpipe(parser);
      req.resume();
    });
    parser.on('close', () => { if (!stored) reject(new HttpError(400, `the form has no file part named "${field}"`)); });
    req.on('close', () => { if (!req.complete) parser.destroy(new Error('the client disconnected')); });
    req.pipe(parser);
  });
}
