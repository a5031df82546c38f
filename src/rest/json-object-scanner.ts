/**
 * A JSON upload's body outside its contents (json-upload.ts), scanned as it arrives.
 * Its bytes are kept, at most 64 KiB of them, for JSON.parse once the body has ended,
 * with "" in place of the contents' string; the scan itself follows only what it must
 * to find where that string begins and to tell the top-level members read so far:
 * strings and their escapes, nesting, the top-level keys, and where their values
 * begin and end. Whether the rest is well-formed JSON is JSON.parse's to say.
 *
 * Invariants:
 * - The body must open with `{` (after whitespace, and a UTF-8 byte order mark);
 *   anything else is a 400 at once.
 * - The contents' string is a top-level member named `contentsKey` (escapes in the
 *   key read as JSON.parse reads them) whose value is a string; a second one is a
 *   400. A value of another kind is kept like any other, for the fields' check.
 * - More than 64 KiB outside the contents is a 413.
 * - The body outside the contents is read as strict UTF-8: bytes that are not UTF-8
 *   are a 400, never read as U+FFFD (a filename would be stored as another name).
 */
import { isUtf8 } from 'node:buffer';
import { errorMessage } from '../common/log';
import { HttpError } from './errors';

/** Bytes of the body outside the contents that are kept for JSON.parse (413 beyond). */
const KEPT_LIMIT = 64 << 10;

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf]);

export class JsonObjectScanner {
  /** The body outside the contents' text, with "" for it. */
  private readonly kept = Buffer.alloc(KEPT_LIMIT);
  private keptLength = 0;

  /** Bytes of a byte order mark skipped at the start. */
  private markBytes = 0;
  private started = false;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private expectKey = false;
  /** Where the top-level key being read starts in `kept`, or -1. */
  private keyStart = -1;
  /** The top-level member being read: its key, once read, and where its value starts (-1: not yet). */
  private key: string | undefined;
  private afterColon = false;
  private valueStart = -1;
  /** Top-level members read whole so far: their values' JSON text. */
  private readonly members = new Map<string, string>();
  private contentsFound = false;

  constructor(private readonly contentsKey: string) {}

  /**
   * Scans the next `chunk` of the body outside the contents: the index in it where the
   * contents' text begins (past its opening quote), or -1 if it does not begin there.
   */
  scan(chunk: Buffer): number {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.keptLength === 0 && this.markBytes < BYTE_ORDER_MARK.length) {
        if (b === BYTE_ORDER_MARK[this.markBytes]) {
          this.markBytes++;
          continue;
        }
        if (this.markBytes > 0) throw notAnObject();
        this.markBytes = BYTE_ORDER_MARK.length; // none
      }
      if (this.inString) {
        this.keep(b);
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.endString();
        continue;
      }
      if (WHITESPACE.has(b)) {
        this.keep(b);
        continue;
      }
      if (!this.started) {
        if (b !== 0x7b) throw notAnObject();
        this.started = true;
      }
      if (this.depth === 1 && this.afterColon && this.valueStart < 0) {
        this.valueStart = this.keptLength;
        if (this.key === this.contentsKey && b === QUOTE) {
          if (this.contentsFound) throw new HttpError(400, `"${this.contentsKey}" is given more than once`);
          this.contentsFound = true;
          this.keep(QUOTE);
          this.keep(QUOTE);
          return i + 1;
        }
      }
      this.keep(b);
      switch (b) {
        case QUOTE:
          this.inString = true;
          if (this.depth === 1 && this.expectKey) {
            this.keyStart = this.keptLength - 1;
            this.expectKey = false;
          }
          break;
        case 0x7b: // {
        case 0x5b: // [
          this.depth++;
          if (this.depth === 1) this.expectKey = true;
          break;
        case 0x7d: // }
        case 0x5d: // ]
          if (this.depth === 1) this.endMember();
          this.depth--;
          break;
        case 0x2c: // ,
          if (this.depth === 1) {
            this.endMember();
            this.expectKey = true;
          }
          break;
        case 0x3a: // :
          if (this.depth === 1) this.afterColon = true;
          break;
      }
    }
    return -1;
  }

  /** The top-level members read whole so far, parsed. */
  membersSoFar(): Record<string, unknown> {
    return Object.fromEntries([...this.members].map(([key, text]) => [key, parseJson(text)]));
  }

  /** Everything scanned, parsed: the body's value once it has ended, with "" for the contents. */
  parsed(): unknown {
    return parseJson(this.text(0, this.keptLength));
  }

  /** The kept bytes from `start` to `end` (at token boundaries) as text: 400 unless they are UTF-8. */
  private text(start: number, end: number): string {
    const bytes = this.kept.subarray(start, end);
    if (!isUtf8(bytes)) throw malformed('the body is not valid UTF-8');
    return bytes.toString('utf8');
  }

  private keep(b: number): void {
    if (this.keptLength === KEPT_LIMIT) {
      throw new HttpError(413, `the JSON body's members other than "${this.contentsKey}" take more than ${KEPT_LIMIT} bytes`);
    }
    this.kept[this.keptLength++] = b;
  }

  private endString(): void {
    this.inString = false;
    if (this.keyStart < 0) return;
    const key = parseJson(this.text(this.keyStart, this.keptLength));
    this.key = typeof key === 'string' ? key : undefined;
    this.keyStart = -1;
  }

  /** A top-level member ends (at the `,` or `}` just kept). */
  private endMember(): void {
    if (this.key !== undefined && this.valueStart >= 0) this.members.set(this.key, this.text(this.valueStart, this.keptLength - 1));
    this.key = undefined;
    this.afterColon = false;
    this.valueStart = -1;
  }
}

export function notAnObject(): HttpError {
  return new HttpError(400, 'the JSON body must be an object {"filename", "content_type", "contents_b64"}');
}

export function malformed(detail: string): HttpError {
  return new HttpError(400, `malformed JSON: ${detail}`);
}

/** JSON.parse, failing with a 400 that says what is malformed. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw malformed(errorMessage(err));
  }
}
