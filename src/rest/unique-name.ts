/**
 * The name clash rule of POST /files: a file is stored in the root directory under
 * its own filename if that name is free, otherwise under the first free
 * "STEM (N).EXT" (N = 1, 2, ...), the way a browser names downloads. An upload
 * through POST /files never replaces an existing file: like the course API, every
 * upload gets a new id. (PUT /fs/PATH is the route that replaces.)
 *
 * Invariant: a name handed out stays claimed until its upload has settled, so
 * concurrent uploads of the same filename get distinct names. If another front end
 * creates a file under a claimed name meanwhile, the upload fails with 409 (the
 * write is exclusive); it never replaces that file.
 */
import type { Controller } from '../core/controller';
import { checkName } from '../core/paths';

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
    const dot = filename.lastIndexOf('.');
    const [stem, ext] = dot > 0 ? [filename.slice(0, dot), filename.slice(dot)] : [filename, ''];
    for (let n = 0; ; n++) {
      const name = n === 0 ? filename : `${stem} (${n})${ext}`;
      if (!this.claimed.has(name) && !this.controller.lookup(`/${name}`)) return name;
    }
  }
}
