/**
 * multipart/form-data uploads, parsed by busboy while the body streams in: the file
 * part is handed to `store` as an async iterable of its bytes as they arrive; nothing
 * ever holds the whole file.
 *
 * Invariants:
 * - Exactly one part is stored: the first file part (one with a filename) named
 *   `field`. Other parts are read and discarded.
 * - The part's bytes end normally only once the whole form has been parsed: the
 *   part arrived whole, the form's closing delimiter came, and so did the rest of
 *   the request. A client that disconnects (mid-part or after it), or a form cut
 *   short or malformed anywhere, makes the iterable throw (upload-source.ts), so
 *   `store` commits nothing. Meanwhile only busboy's own buffers are held: the
 *   part's bytes go on to `store` as they come.
 * - A filename is UTF-8, sent raw (`filename="résumé.txt"`, as browsers and curl
 *   send it) or as `filename*=UTF-8''...`. One whose bytes are not UTF-8 is a 400,
 *   never stored as another name; busboy decodes undecodable bytes as U+FFFD, so a
 *   filename with U+FFFD is refused the same way.
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

/** What undecodable bytes of a filename become (busboy decodes leniently). */
const REPLACEMENT_CHARACTER = '\uFFFD';

export function receiveFile<T>(req: Request, field: string, maxBytes: number, store: (file: IncomingFile) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // busboy reads a raw filename as latin1 unless told otherwise.
      parser = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { fieldSize: 64 << 10, fields: 100, parts: 1000 } });
    } catch (err) {
      reject(new HttpError(400, `not a multipart/form-data body: ${errorMessage(err)}`));
      return;
    }
    const parsed = formParsed(req, parser);
    let stored: Promise<T> | undefined;
    parser.on('file', (name, stream, info) => {
      if (name !== field || stored) {
        stream.resume();
        return;
      }
      // (async: a refused filename rejects `stored` as a failed store does)
      stored = (async () => store({ filename: checkedFilename(field, info.filename), mimeType: info.mimeType, bytes: untilFormParsed(streamBytes(stream, maxBytes), parsed) }))();
      stored.then(resolve, (err) => {
        req.unpipe(parser);
        parser.destroy();
        reject(err);
      });
    });
    parser.on('error', (err) => {
      // Once a file part is being stored, a parse error reaches `store` through the part's bytes.
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

/** The file part's filename, if it has one that can be stored (400 otherwise). */
function checkedFilename(field: string, filename: string | undefined): string {
  if (filename === undefined) throw new HttpError(400, `the "${field}" part has no filename`);
  if (filename.includes(REPLACEMENT_CHARACTER)) throw new HttpError(400, `the "${field}" part's filename is not valid UTF-8 (or holds U+FFFD): ${JSON.stringify(filename)}`);
  return filename;
}

/**
 * Settles once busboy has parsed the whole form, its closing delimiter included, and
 * the request has ended complete; rejects (400) if the form is malformed or ends
 * early, or the client goes.
 */
function formParsed(req: Request, parser: busboy.Busboy): Promise<void> {
  const parsed = new Promise<void>((resolve, reject) => {
    parser.once('finish', () => (req.complete ? resolve() : reject(new HttpError(400, 'malformed multipart body: the request ended early'))));
    parser.once('error', (err) => reject(new HttpError(400, `malformed multipart body: ${errorMessage(err)}`)));
    parser.once('close', () => reject(new HttpError(400, 'malformed multipart body: parsing stopped before the form ended')));
  });
  parsed.catch(() => undefined); // awaited only if a file part comes
  return parsed;
}

/** The file part's bytes, ending only once the form is `parsed` whole; throwing if it is not. */
async function* untilFormParsed(part: AsyncIterable<Buffer>, parsed: Promise<void>): AsyncGenerator<Buffer> {
  yield* part;
  await parsed;
}
