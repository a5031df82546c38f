/**
 * The name clash rule of POST /files: a file is stored in the root directory under
 * its own filename if that name is free, otherwise under the first free
 * "STEM (N).EXT" (N = 1, 2, ...), the way a browser names downloads. An upload
 * through POST /files never replaces an existing file: like the course API, every
 * upload gets a new id. (PUT /fs/PATH is the route that replaces.)
 *
 * Invariants:
 * - A name handed out stays claimed until its upload has settled, so concurrent
 *   uploads of the same filename get distinct names. If another front end creates a
 *   file under a claimed name meanwhile, the upload fails with 409 (the write is
 *   exclusive); it never replaces that file.
 * - A numbered name fits MAX_NAME_BYTES whatever the filename's length: the stem
 *   is shortened (at a character boundary, never inside a UTF-8 sequence or a
 *   surrogate pair) as much as " (N)" and the extension need. The extension is kept
 *   unless it leaves no room for a character of the stem; then the whole filename is
 *   the stem.
 */
import type { Controller } from '../core/controller';
import { checkName, MAX_NAME_BYTES } from '../core/paths';

export class RootNameClaims {
  private readonly claimed = new Set<string>();

  constructor(private readonly controller: Controller) {}

  /** Runs `store` with the root path chosen for `filename`, claimed until `store` settles. */
  async withFreeName<T>(filename: string, store: (path: string) => Promise<T>): Promise<T> {
    checkName(filename);
    const name = this.freeName(filename);
    this.claimed.add(name);
    try {
      return await store(`/${name}`);
    } finally {
      this.claimed.delete(name);
    }
  }

  private freeName(filename: string): string {
    for (let n = 0; ; n++) {
      const name = n === 0 ? filename : numberedName(filename, n);
      if (!this.claimed.has(name) && !this.controller.lookup(`/${name}`)) return name;
    }
  }
}

/** "STEM (N).EXT" for `filename`, its stem shortened to fit MAX_NAME_BYTES. */
function numberedName(filename: string, n: number): string {
  const dot = filename.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [filename.slice(0, dot), filename.slice(dot)] : [filename, ''];
  const tag = ` (${n})`;
  const room = MAX_NAME_BYTES - Buffer.byteLength(tag);
  const shortStem = prefixWithin(stem, room - Buffer.byteLength(ext));
  return shortStem !== '' ? `${shortStem}${tag}${ext}` : `${prefixWithin(filename, room)}${tag}`;
}

/** The longest prefix of `text` of whole characters (code points) that takes at most `maxBytes` in UTF-8. */
function prefixWithin(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
}
