/**
 * Content types as the REST facade accepts and stores them: `type/subtype` with
 * optional parameters, printable ASCII only. Whatever is stored is later sent back as
 * a Content-Type header, so a value that could not be sent as one is refused (400)
 * when it comes in, never discovered when a download fails.
 */
import { HttpError } from './errors';

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const MEDIA_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:[ \\t]*;[\\x20-\\x7e\\t]*)?$`);

export const DEFAULT_MEDIA_TYPE = 'application/octet-stream';

/** `value` checked as a media type; null when absent. */
export function mediaType(value: unknown, what: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > 255 || !MEDIA_TYPE.test(value)) {
    throw new HttpError(400, `${what} is not a valid media type: ${JSON.stringify(value).slice(0, 80)}`);
  }
  return value;
}
