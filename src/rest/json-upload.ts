/**
 * The JSON form of POST /files, as the course's clients send it:
 * {"filename": "a.txt", "content_type": "text/plain", "contents_b64": "aGVsbG8="},
 * read as it arrives. The contents are decoded and handed on while the body streams
 * in, at the pace the nodes store them, so a JSON upload holds no more of the
 * controller's memory than a multipart one (its stripes), whatever its size. The
 * rest of the body is kept (at most 64 KiB of it) and parsed by JSON.parse once it
 * has ended, with "" in place of the contents (json-object-scanner.ts).
 *
 * Invariants:
 * - contents() yields the decoded contents_b64 and ends where its string ends (at
 *   once if the body has none); finish() then reads the rest of the body and returns
 *   the checked fields. Only a body that is one JSON object with a non-empty string
 *   "filename", one string "contents_b64" and an optional media type "content_type"
 *   gets that far: anything else throws HttpError 400 (contents over `maxBytes`: 413)
 *   out of one or the other, and the caller drops what it stored.
 * - The members before contents_b64 are checked as soon as it begins: an upload with
 *   a bad filename or content type is refused before any of its contents is stored.
 * - contents_b64 must be canonical base64 (base64-decoder.ts). JSON escapes in it
 *   (`\/`, as some encoders write every slash) are undone first.
 * - The body may be compressed (Content-Encoding gzip, deflate or br), as express'
 *   JSON parser allowed, and must be UTF-8: another charset is a 415, bytes that
 *   are not UTF-8 a 400 (json-object-scanner.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { checkName } from '../core/paths';
import { CanonicalBase64Decoder } from './base64-decoder';
import { HttpError } from './errors';
import { BACKSLASH, JsonObjectScanner, malformed, notAnObject, parseJson, QUOTE } from './json-object-scanner';
import { mediaType } from './media-type';
import { streamBytes, tooLarge } from './upload-source';

export interface JsonUpload {
  filename: string;
  contentType: string | null;
}

const BASE64_CHARACTER = /^[A-Za-z0-9+/=]$/;

const DECOMPRESSORS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/** The request's body as JSON text: inflated if compressed; 415 for what cannot be read as UTF-8 JSON. */
export function jsonBody(req: IncomingMessage): AsyncGenerator<Buffer> {
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(req.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) throw new HttpError(415, `a JSON body must be UTF-8, not charset "${charset}"`);
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return streamBytes(req, Infinity, () => req.complete);
  const decompressor = DECOMPRESSORS[encoding];
  if (!decompressor) throw new HttpError(415, `unsupported Content-Encoding "${encoding}" (gzip, deflate, br or identity)`);
  const inflated = req.pipe(decompressor());
  req.once('close', () => { if (!req.complete) inflated.destroy(new Error('the body ended early')); });
  return streamBytes(inflated, Infinity, () => req.complete);
}

export class JsonUploadReader {
  private readonly body: AsyncIterator<Buffer>;
  /** Bytes read from the body and not scanned yet. */
  private pending: Buffer | undefined;
  private readonly scanner = new JsonObjectScanner('contents_b64');

  constructor(body: AsyncIterable<Buffer>, private readonly maxBytes: number) {
    this.body = body[Symbol.asyncIterator]();
  }

  /** The decoded contents, ending where the contents_b64 string ends. */
  async *contents(): AsyncGenerator<Buffer> {
    let ended = false;
    try {
      yield* this.decodedContents();
      ended = true;
    } finally {
      if (!ended) await this.stopReading();
    }
  }

  /** Reads the rest of the body (after contents(), which must have ended) and returns its checked fields. */
  async finish(): Promise<JsonUpload> {
    try {
      // (A second contents_b64 throws in the scan: true here means contents() was not read.)
      if (await this.scanUntilContents()) throw new Error('JsonUploadReader.finish() called before its contents were read');
      return checkFields(this.scanner.parsed(), true);
    } catch (err) {
      await this.stopReading();
      throw err;
    }
  }

  /**
   * Leaves the body where it is, for the error answer to drain: a body iterator left
   * suspended would keep the request in paused mode, and the client would wait for
   * its answer for ever.
   */
  private async stopReading(): Promise<void> {
    await this.body.return?.();
  }

  private async *decodedContents(): AsyncGenerator<Buffer> {
    if (!(await this.scanUntilContents())) return;
    checkFields(this.scanner.membersSoFar(), false);
    const decoder = new CanonicalBase64Decoder(notBase64);
    let escape = '';
    let decoded = 0;
    for (;;) {
      const chunk = await this.nextChunk();
      if (!chunk) throw malformed('the body ended inside "contents_b64"');
      let text = '';
      let i = 0;
      let end = -1;
      const quote = chunk.indexOf(QUOTE);
      while (i < chunk.length) {
        if (escape !== '') {
          escape += String.fromCharCode(chunk[i++]);
          const char = unescaped(escape);
          if (char !== undefined) {
            text += char;
            escape = '';
          }
          continue;
        }
        // An escaped quote throws above (unescaped), so the first quote is where the string ends.
        const backslash = chunk.indexOf(BACKSLASH, i);
        const stop = quote < 0 ? chunk.length : quote;
        const segmentEnd = backslash >= 0 && backslash < stop ? backslash : stop;
        text += chunk.toString('latin1', i, segmentEnd);
        i = segmentEnd;
        if (i === stop) {
          end = quote;
          break;
        }
        escape = '\\';
        i++;
      }
      const bytes = decoder.push(text);
      decoded += bytes.length;
      if (decoded > this.maxBytes) throw tooLarge(this.maxBytes);
      if (bytes.length > 0) yield bytes;
      if (end >= 0) {
        decoder.end();
        if (end + 1 < chunk.length) this.pending = chunk.subarray(end + 1);
        return;
      }
    }
  }

  private async nextChunk(): Promise<Buffer | undefined> {
    const pending = this.pending;
    this.pending = undefined;
    if (pending) return pending;
    const next = await this.body.next();
    return next.done ? undefined : next.value;
  }

  /** Scans the body until contents_b64's string begins (true) or the body ends (false). */
  private async scanUntilContents(): Promise<boolean> {
    for (;;) {
      const chunk = await this.nextChunk();
      if (!chunk) return false;
      const contentsAt = this.scanner.scan(chunk);
      if (contentsAt >= 0) {
        if (contentsAt < chunk.length) this.pending = chunk.subarray(contentsAt);
        return true;
      }
    }
  }
}

/**
 * The upload's fields, checked: all of them once the body is `complete`, else those
 * given so far (the rest is checked when it has come).
 */
function checkFields(body: unknown, complete: boolean): JsonUpload {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw notAnObject();
  const { filename, contents_b64: contents, content_type: contentType } = body as Record<string, unknown>;
  if (complete || filename !== undefined) {
    if (typeof filename !== 'string' || filename === '') throw new HttpError(400, 'missing field "filename" (a non-empty string)');
    checkName(filename);
  }
  if (complete && typeof contents !== 'string') throw new HttpError(400, 'missing field "contents_b64" (the contents in base64)');
  return { filename: filename as string, contentType: mediaType(contentType, '"content_type"') };
}

/**
 * The character a JSON escape in contents_b64 stands for (as JSON.parse reads it), or
 * undefined while the escape is incomplete. An escape of a character base64 does not
 * use throws at once: the string's end is then always its first plain quote.
 */
function unescaped(escape: string): string | undefined {
  if (escape.length < 2 || (escape[1] === 'u' && escape.length < 6)) return undefined;
  const char = parseJson(`"${escape}"`) as string;
  if (!BASE64_CHARACTER.test(char)) throw notBase64();
  return char;
}

function notBase64(): HttpError {
  return new HttpError(400, '"contents_b64" is not valid base64');
}
