/**
 * HTTP conditional requests (RFC 9110, section 13) on a file's validators: its ETag,
 * "ID-VERSION" (strong: every committed version of a file has its own), and its
 * Last-Modified.
 *
 *   GET/HEAD    If-Match that does not match -> 412; If-None-Match that matches, or
 *               (without If-None-Match) If-Modified-Since not older than the file
 *               -> 304 Not Modified: the client's copy is current.
 *   PUT/DELETE  If-Match that does not match (`If-Match: *`: no file there) -> 412;
 *               (without If-Match) If-Unmodified-Since older than the file -> 412;
 *               If-None-Match that matches (`If-None-Match: *`: a file is there, so
 *               "create only") -> 412. Nothing changes.
 *
 * Invariants:
 * - The headers are evaluated in RFC 9110 13.2.2's order; a date that does not parse
 *   is ignored, as the RFC says; dates compare to the second (Last-Modified's
 *   precision). If-Match compares strongly, If-None-Match weakly (a W/ tag matches).
 * - A write's conditions are checked against the file as it is when the write
 *   commits, inside the commit's transaction (the core's WriteOptions.precondition),
 *   and also before its body is read. So of two clients that PUT with the same
 *   If-Match, one gets 412 and changes nothing (the parts it stored are dropped):
 *   no update is lost.
 */
import type { Request } from 'express';
import type { Entry } from '../core/controller';
import { HttpError } from './errors';

export interface Validators {
  ETag: string;
  'Last-Modified': string;
}

/** The validators of a file's committed version (what GET answers and conditions compare with). */
export function validatorsOf(entry: Entry): Validators {
  return { ETag: `"${entry.id}-${entry.version}"`, 'Last-Modified': new Date(entry.modifiedMs).toUTCString() };
}

/** What a GET or HEAD does about its conditions: send the file, or 304 (the client's copy is current). */
export function readCondition(req: Request, entry: Entry): 'send' | 'not-modified' {
  const failed = failedCondition(req, entry);
  if (failed === 'not-modified') return 'not-modified';
  if (failed) throw preconditionFailed(failed);
  return 'send';
}

/**
 * The conditions of a PUT or DELETE, as a check of the entry found at its path (none:
 * undefined) that throws 412; undefined if the request has none.
 */
export function writeCondition(req: Request): ((existing: Entry | undefined) => void) | undefined {
  const conditional = ['if-match', 'if-none-match', 'if-unmodified-since'].some((h) => req.headers[h] !== undefined);
  if (!conditional) return undefined;
  return (existing) => {
    const failed = failedCondition(req, existing?.kind === 'file' ? existing : undefined, existing !== undefined);
    if (failed) throw preconditionFailed(failed);
  };
}

type Failure = 'if-match' | 'if-unmodified-since' | 'not-modified';

/**
 * The first condition that fails, in RFC 9110 13.2.2's order; 'not-modified' is a
 * matching If-None-Match or an If-Modified-Since the file is not newer than.
 * `exists` counts entries that have no validators (a directory) for `*`.
 */
function failedCondition(req: Request, file: Entry | undefined, exists = file !== undefined): Failure | undefined {
  const current = file && validatorsOf(file);
  const ifMatch = req.headers['if-match'];
  if (ifMatch !== undefined) {
    if (!matches(ifMatch, current?.ETag, exists, false)) return 'if-match';
  } else if (file && modifiedAfter(file, req.headers['if-unmodified-since']) === true) {
    return 'if-unmodified-since';
  }
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    if (matches(ifNoneMatch, current?.ETag, exists, true)) return 'not-modified';
  } else if (file && (req.method === 'GET' || req.method === 'HEAD') && modifiedAfter(file, req.headers['if-modified-since']) === false) {
    return 'not-modified';
  }
  return undefined;
}

/** Whether a list of entity tags (or `*`) names `etag`; `*` matches anything that exists. */
function matches(header: string, etag: string | undefined, exists: boolean, weak: boolean): boolean {
  if (header.trim() === '*') return exists;
  if (etag === undefined) return false;
  const opaque = (tag: string) => weak ? tag.replace(/^W\//, '') : tag;
  return header.split(',').map((tag) => tag.trim()).some((tag) => opaque(tag) === etag);
}

/** Whether the file changed after the HTTP-date `header`; undefined if there is none or it does not parse. */
function modifiedAfter(file: Entry, header: string | undefined): boolean | undefined {
  const since = header === undefined ? NaN : Date.parse(header);
  return Number.isNaN(since) ? undefined : Math.floor(file.modifiedMs / 1000) > Math.floor(since / 1000);
}

function preconditionFailed(failed: Failure): HttpError {
  const what = failed === 'if-match' ? 'If-Match does not match the file\'s ETag (or there is no file)'
    : failed === 'if-unmodified-since' ? 'the file was modified after If-Unmodified-Since'
      : 'If-None-Match matches: the file exists (in that version)';
  return new HttpError(412, `precondition failed: ${what}`);
}
