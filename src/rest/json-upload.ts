/**
 * The JSON form of POST /files, as the course's clients send it:
 * {"filename": "a.txt", "content_type": "text/plain", "contents_b64": "aGVsbG8="}.
 * The body is parsed whole (express.json, whose size limit keeps it bounded), so this
 * form is for small files; large files go through multipart or PUT /fs. Held whole,
 * as text, as the parsed string and decoded, a body costs the controller about five
 * times its size (measured: a 64 MiB body took it from 76 to 409 MB), so the route
 * reserves that much of the REST memory (jsonUploadMemory, and the upload's stripes)
 * before reading it: JSON uploads at once wait their turn instead of taking the
 * controller past its budget (eight of 48 MiB at once took it to 1.1 GB).
 *
 * Invariants: `filename` and `contents_b64` are required strings; `content_type` is
 * optional. contents_b64 must be canonical base64 (standard alphabet, padded to a
 * multiple of 4, as every standard encoder writes it): anything else is refused
 * with 400 rather than decoded leniently.
 * Decoded contents over `maxBytes` are refused with 413.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { HttpError } from './errors';
import { mediaType } from './media-type';
import { tooLarge } from './upload-source';

interface JsonUpload {
  filename: string;
  contentType: string | null;
  contents: Buffer;
}

/** Controller memory a JSON upload takes per byte of its body (see above). */
const MEMORY_PER_BODY_BYTE = 5;

/** Bytes of the request body express.json must accept for `maxBytes` of contents. */
export function jsonBodyLimit(maxBytes: number): number {
  return 4 * Math.ceil(maxBytes / 3) + (64 << 10);
}

/**
 * The memory to reserve before reading a JSON body of at most `bodyLimit` bytes with
 * these headers: by its Content-Length, or by the limit when the length is not given
 * or is not the body's (a compressed body, which express.json inflates).
 */
export function jsonUploadMemory(headers: IncomingHttpHeaders, bodyLimit: number): number {
  const declared = Number(headers['content-length']);
  const plain = (headers['content-encoding'] ?? 'identity').toLowerCase() === 'identity';
  const bodyBytes = plain && headers['content-length'] !== undefined && Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, bodyLimit) : bodyLimit;
  return MEMORY_PER_BODY_BYTE * bodyBytes;
}

export function parseJsonUpload(body: unknown, maxBytes: number): JsonUpload {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'the JSON body must be an object {"filename", "content_type", "contents_b64"}');
  }
  const fields = body as Record<string, unknown>;
  if (typeof fields.filename !== 'string' || fields.filename === '') throw new HttpError(400, 'missing field "filename" (a non-empty string)');
  if (typeof fields.contents_b64 !== 'string') throw new HttpError(400, 'missing field "contents_b64" (the contents in base64)');
  const text = fields.contents_b64;
  if ((text.length / 4) * 3 - (text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0) > maxBytes) throw tooLarge(maxBytes);
  const contents = Buffer.from(text, 'base64');
  // Node's decoder skips what is not base64; only canonical input encodes back to itself.
  // (Three times faster than a regular expression over the text.)
  if (contents.toString('base64') !== text) throw new HttpError(400, '"contents_b64" is not valid base64');
  return { filename: fields.filename, contentType: mediaType(fields.content_type, '"content_type"'), contents };
}
