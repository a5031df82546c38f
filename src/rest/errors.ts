/**
 * How the REST facade reports failures: every error answer is JSON {"error": "..."}
 * with one status per cause, decided here and nowhere else.
 *
 * Invariants:
 * - Each core error code maps to exactly one HTTP status (STATUS_OF_CODE). ENOSPC is
 *   507 Insufficient Storage: the request was fine, the nodes (or the controller's
 *   metadata disk, see coreErrorOf) are full.
 * - A client mistake is a 4xx: core EINVAL/ENAMETOOLONG, HttpError 4xx, and the 4xx
 *   errors of express' own parsers (a malformed body, a body over the limit, an
 *   undecodable URL parameter). Only an unexpected failure is a 500, and its details
 *   go to the log, not to the client. Core EIO (no good copy left) is a 500 too.
 * - An error after the response started (mid-download) cannot change the status: the
 *   connection is cut, so the client sees a short body, never a wrong one. A client
 *   that left gets no answer either (and the log only a debug line).
 * - A request body left unread by a failed upload is drained (and discarded), so the
 *   client receives its error answer and the connection stays usable.
 * - What Node's HTTP parser refuses before express sees a request (request line and
 *   headers over maxHeaderSize: 431; a malformed request: 400) is answered as JSON
 *   too (answerClientError), with the status Node's own answer has, and only when
 *   Node would answer: the socket is writable and no answer on it has begun. The
 *   connection is closed after it, as Node does.
 */
import { maxHeaderSize, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { createLogger, errorMessage } from '../common/log';
import { coreErrorOf, ErrorCode } from '../core/errors';

/** A failure the REST layer itself detects (bad id, missing field, upload too large, ...). */
export class HttpError extends Error {
  /** `headers` go out with the error answer (e.g. Content-Range on a 416). */
  constructor(readonly status: number, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

const STATUS_OF_CODE: Readonly<Record<ErrorCode, number>> = {
  EINVAL: 400,
  ENAMETOOLONG: 400,
  EILSEQ: 400,
  EPERM: 403,
  ENOENT: 404,
  EEXIST: 409,
  ENOTEMPTY: 409,
  EISDIR: 409,
  ENOTDIR: 409,
  EBUSY: 409,
  EFBIG: 413,
  ENOSPC: 507,
  EUNAVAIL: 503,
  EIO: 500,
};

/** The status and client-facing message of any error thrown while handling a request. */
function describeError(err: unknown): { status: number; message: string } {
  if (err instanceof HttpError) return { status: err.status, message: err.message };
  const known = coreErrorOf(err);
  if (known) return { status: STATUS_OF_CODE[known.code], message: known.message };
  // express' own 4xx errors: body parsers (the dashboard login's form), undecodable URL parameters.
  const parserError = err as { status?: unknown; type?: unknown; limit?: unknown };
  if (typeof parserError.status === 'number' && parserError.status >= 400 && parserError.status < 500) {
    if (parserError.type === 'entity.too.large') return { status: 413, message: `request body is larger than the limit of ${parserError.limit} bytes` };
    if (parserError.type === 'entity.parse.failed') return { status: 400, message: `malformed request body: ${errorMessage(err)}` };
    return { status: parserError.status, message: errorMessage(err) };
  }
  return { status: 500, message: 'internal error' };
}

const log = createLogger('rest');

/** The last middleware: turns any error into its JSON answer. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const { status, message } = describeError(err);
  const clientLeft = (err as { code?: unknown }).code === 'ERR_STREAM_PREMATURE_CLOSE';
  if (res.headersSent || clientLeft) {
    // Mid-body: the status is gone; cutting the connection makes the client see a short body.
    (clientLeft ? log.debug : log.warn)('response cut short', { method: req.method, url: req.originalUrl, error: errorMessage(err) });
    res.destroy();
    return;
  }
  if (status === 500) log.error('request failed', { method: req.method, url: req.originalUrl, status, error: errorMessage(err), stack: (err as Error).stack });
  else if (status > 500) log.warn('request failed', { method: req.method, url: req.originalUrl, status, error: message });
  else log.debug('request refused', { method: req.method, url: req.originalUrl, status, error: message });
  if (!req.complete) {
    req.unpipe();
    req.resume();
  }
  if (err instanceof HttpError) res.set(err.headers);
  res.status(status).json({ error: message });
};

/**
 * Answers a request whose path exists but whose method does not (405, with Allow).
 * One whose method is `allowed` goes on: nothing before served it (e.g. a GET of an
 * asset that is not there), so it ends as a 404.
 */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  return (req, _res, next) => {
    if (allowed.includes(req.method)) {
      next();
      return;
    }
    throw new HttpError(405, `${req.method} is not supported here; use ${allowed.join(', ')}`, { Allow: allowed.join(', ') });
  };
}

/** Answers any request no route matched. */
export const notFoundHandler: RequestHandler = (req, res) => {
  res.status(404).json({ error: `no such route: ${req.method} ${req.path}` });
};

/** Node's parser errors that are not a plain 400 (as Node's own default answer has them). */
const CLIENT_ERRORS: Readonly<Record<string, { status: number; message: string }>> = {
  HPE_HEADER_OVERFLOW: { status: 431, message: `the request line and headers are larger than ${maxHeaderSize} bytes` },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: { status: 413, message: 'the chunk extensions of the body are too large' },
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, message: 'the request headers did not arrive in time' },
};

/** The server's 'clientError' handler: a request Node's HTTP parser refused, answered as JSON (see the invariants above). */
export function answerClientError(err: Error & { code?: string }, socket: Duplex): void {
  // Node's own test (http's socketOnError): the answer in flight on this connection, if any.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent: boolean } | null })._httpMessage;
  if (err.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
    const { status, message } = CLIENT_ERRORS[err.code ?? ''] ?? { status: 400, message: `malformed HTTP request: ${errorMessage(err)}` };
    log.debug('request refused by the HTTP parser', { status, error: errorMessage(err), code: err.code });
    const body = JSON.stringify({ error: message });
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
