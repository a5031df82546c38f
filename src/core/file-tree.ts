/**
 * The tree of names: paths resolved to entries (files, directories, symlinks), and
 * the rules of changing it, as POSIX gives them (mkdir, symlink, rename, remove).
 * It knows nothing of parts or nodes: the controller (controller.ts) puts content in
 * the files it finds or makes here, in the same transactions.
 *
 * Invariants:
 * - Names are unique per directory; a directory is never moved under itself; a
 *   directory is removed with its content only when asked to (`recursive`).
 * - Files and symlinks may have several names (hard links, `link`); an entry is
 *   the same under each (one id, content and attributes), and goes with its last
 *   name. Directories have one name.
 * - Every change is one SQLite transaction (or part of the caller's, for the
 *   methods the controller's commits call: fileForWrite): a failed one changes
 *   nothing.
 * - removeUncommittedCreates removes files only as removeFile does (under every
 *   name, their copies doomed), and only those MetadataStore counts as uncommitted
 *   creates.
 * - Errors are RaidfsError with an errno-like code (errors.ts).
 */
import { RaidfsError } from './errors';
import { Entry, EntryAttributes, EntryKind, MetadataStore, ROOT_ID } from './metadata/metadata-store';
import { checkName, checkUnicode, childPath, joinPath, splitPath } from './paths';

/** Mode and owner of a new file. */
export interface FileOwnership {
  mode?: number;
  uid?: number;
  gid?: number;
}

/** Where a write of a file's content may land. */
export interface WriteTarget {
  /** Fail with EEXIST instead of replacing an existing file. */
  exclusive?: boolean;
  /** Create missing parent directories. */
  parents?: boolean;
  /**
   * A check of the entry at the path (undefined: none), made before anything is
   * stored and again inside the commit's transaction; what it throws fails the
   * write, and nothing changes (conditional requests, rest/preconditions.ts).
   */
  precondition?: (existing: Entry | undefined) => void;
}

/** What fileForWrite makes when the path holds no file yet: a file with this mode and owner, marked as an uncommitted create if asked. */
export interface NewFileOptions extends FileOwnership {
  /** The new file is made for a writer to fill (Controller.createFile): MetadataStore's NewEntry.uncommittedCreate. */
  uncommittedCreate?: boolean;
}

export interface DirOptions extends FileOwnership {
  /** Create missing parents and accept an existing directory (mkdir -p). */
  parents?: boolean;
}

const S_ISGID = 0o2000;

/**
 * Mode and owner of a new entry in directory `parent`: as asked, except that in a
 * set-group-ID directory it belongs to the directory's group, and a new directory is
 * set-group-ID too (as on ext4 and every Linux file system), so a shared project
 * directory keeps its group all the way down.
 */
function ownedIn(parent: Entry, kind: EntryKind, owner: FileOwnership & { mode: number }): FileOwnership & { mode: number } {
  if ((parent.mode & S_ISGID) === 0) return owner;
  return { ...owner, gid: parent.gid, mode: kind === 'dir' ? owner.mode | S_ISGID : owner.mode };
}

/** Entries a recursive remove holds at once (removeTree). */
const REMOVE_PAGE = 1000;

/** The names of a file's path; '/' is a directory, never a file. */
export function fileNames(path: string): string[] {
  const names = splitPath(path);
  if (names.length === 0) throw new RaidfsError('EISDIR', '/ is a directory');
  return names;
}

export class FileTree {
  constructor(private readonly metadata: MetadataStore) {}

  stat(path: string): Entry {
    return this.existing(splitPath(path), path);
  }

  /** stat(), but undefined for a path that does not exist. */
  lookup(path: string): Entry | undefined {
    return this.metadata.resolve(splitPath(path));
  }

  /** The entry whose id (stable inode number) is `id`. */
  statById(id: number): Entry {
    const entry = this.lookupById(id);
    if (!entry) throw new RaidfsError('ENOENT', `no entry with id ${id}`);
    return entry;
  }

  /** statById(), but undefined for an id no entry has (any more). */
  lookupById(id: number): Entry | undefined {
    return Number.isSafeInteger(id) ? this.metadata.entry(id) : undefined;
  }

  /** The absolute path of the entry with id `id`. */
  pathOf(id: number): string {
    const names: string[] = [];
    for (let cur = this.statById(id); cur.parentId !== null; cur = this.metadata.entry(cur.parentId)!) names.unshift(cur.name);
    return joinPath(names);
  }

  /** Files, directories and symlinks in the tree, the root included (a mount's used inodes). */
  entryCount(): number {
    return this.metadata.entryCount();
  }

  /**
   * Up to `limit` regular files with their paths, in id order from the first id above
   * `afterId`: every file in the tree, a page at a time.
   */
  filesAfter(afterId: number, limit: number): Array<{ entry: Entry; path: string }> {
    const dirPaths = new Map<number, string>(); // each directory's path is walked once per page
    const dirPath = (id: number): string => {
      let known = dirPaths.get(id);
      if (known === undefined) dirPaths.set(id, (known = this.pathOf(id)));
      return known;
    };
    return this.metadata.filesAfter(afterId, limit).map((entry) => ({ entry, path: childPath(dirPath(entry.parentId!), entry.name) }));
  }

  /** Entries of a directory sorted by name: all, or up to `limit` of those named after `after` (a page). */
  list(path: string, after = '', limit = -1): Entry[] {
    return this.metadata.children(this.existingDir(path).id, after, limit);
  }

  /**
   * A directory's own entry and up to `limit` of its entries whose ids are above
   * `afterId`, in id order, from one walk of the path: a listing a page at a time
   * (ids are never reused, so a page starts right after the last one ended).
   */
  directoryPage(path: string, afterId: number, limit: number): { dir: Entry; entries: Entry[] } {
    const dir = this.existingDir(path);
    return { dir, entries: this.metadata.childrenAfter(dir.id, afterId, limit) };
  }

  mkdir(path: string, options: DirOptions = {}): Entry {
    const names = splitPath(path);
    if (names.length === 0) {
      if (options.parents) return this.stat('/');
      throw new RaidfsError('EEXIST', '/ exists');
    }
    return this.metadata.transaction(() => {
      const parent = this.parentDir(names, path, options.parents ?? false);
      const existing = this.metadata.child(parent.id, names.at(-1)!);
      if (existing) {
        if (options.parents && existing.kind === 'dir') return existing;
        throw new RaidfsError('EEXIST', `${path} exists`);
      }
      return this.metadata.insertEntry(parent.id, names.at(-1)!, { kind: 'dir', ...ownedIn(parent, 'dir', { ...options, mode: options.mode ?? 0o755 }) });
    });
  }

  symlink(path: string, target: string, owner: Omit<FileOwnership, 'mode'> = {}): Entry {
    const names = splitPath(path);
    if (names.length === 0 || target === '' || target.includes('\0')) throw new RaidfsError('EINVAL', 'invalid symlink');
    checkUnicode(target, 'symlink target');
    return this.metadata.transaction(() => {
      const parent = this.parentDir(names, path, false);
      if (this.metadata.child(parent.id, names.at(-1)!)) throw new RaidfsError('EEXIST', `${path} exists`);
      return this.metadata.insertEntry(parent.id, names.at(-1)!, { kind: 'symlink', target, size: Buffer.byteLength(target), ...ownedIn(parent, 'symlink', { ...owner, mode: 0o777 }) });
    });
  }

  readlink(path: string): string {
    const entry = this.stat(path);
    if (entry.kind !== 'symlink') throw new RaidfsError('EINVAL', `${path} is not a symlink`);
    return entry.target!;
  }

  setAttributes(path: string, attrs: EntryAttributes): Entry {
    return this.metadata.transaction(() => this.setAttributesOf(this.stat(path).id, attrs));
  }

  /** setAttributes() of the entry with id `id`, wherever it is. */
  setAttributesOf(id: number, attrs: EntryAttributes): Entry {
    return this.metadata.transaction(() => {
      this.statById(id);
      this.metadata.setAttributes(id, attrs);
      return this.metadata.entry(id)!;
    });
  }

  /**
   * Removes a file, symlink or empty directory (any directory with `recursive`), if
   * `precondition` (checked in the same transaction) does not throw.
   */
  remove(path: string, options: { recursive?: boolean; precondition?: WriteTarget['precondition'] } = {}): void {
    const names = splitPath(path);
    if (names.length === 0) throw new RaidfsError('EINVAL', 'cannot remove /');
    this.metadata.transaction(() => {
      const entry = this.existing(names, path);
      options.precondition?.(entry);
      if (entry.kind === 'dir' && this.metadata.hasChildren(entry.id)) {
        if (!options.recursive) throw new RaidfsError('ENOTEMPTY', `${path} is not empty`);
        this.removeTree(entry);
      } else {
        this.metadata.removeName(entry.nameId);
      }
    });
  }

  /**
   * Removes the file or symlink with id `id` under every name it has (its hard links
   * too), if `precondition` (checked in the same transaction) does not throw.
   */
  removeFile(id: number, options: { precondition?: WriteTarget['precondition'] } = {}): void {
    this.metadata.transaction(() => {
      const entry = this.statById(id);
      if (entry.kind === 'dir') throw new RaidfsError('EISDIR', `${this.pathOf(id)} is a directory`);
      options.precondition?.(entry);
      this.metadata.removeEntry(id);
    });
  }

  /**
   * Removes, in one transaction, each file that a create made and no content commit
   * filled (MetadataStore.uncommittedCreates), as removeFile does, under every name
   * it has: what a crash of the controller left of the files the mount was
   * creating. Returns their paths (one each, its own row's name), in id order.
   */
  removeUncommittedCreates(): string[] {
    return this.metadata.transaction(() => this.metadata.uncommittedCreates().map((id) => {
      const path = this.pathOf(id);
      this.removeFile(id);
      return path;
    }));
  }

  /**
   * Adds `path` as a further name of the file or symlink at `existing`, like link(2):
   * EEXIST if `path` exists, EPERM for a directory.
   */
  link(existing: string, path: string): Entry {
    const names = splitPath(path);
    if (names.length === 0) throw new RaidfsError('EEXIST', '/ exists');
    return this.metadata.transaction(() => {
      const entry = this.stat(existing);
      if (entry.kind === 'dir') throw new RaidfsError('EPERM', `${existing} is a directory: directories cannot have hard links`);
      const parent = this.parentDir(names, path, false);
      if (this.metadata.child(parent.id, names.at(-1)!)) throw new RaidfsError('EEXIST', `${path} exists`);
      return this.metadata.insertLink(parent.id, names.at(-1)!, entry);
    });
  }

  /**
   * Renames like rename(2): an existing target is replaced if it is a file (or an
   * empty directory when moving a directory); a directory cannot move under itself;
   * two names of one file leave both in place.
   */
  rename(from: string, to: string): void {
    const fromNames = splitPath(from);
    const toNames = splitPath(to);
    if (fromNames.length === 0 || toNames.length === 0) throw new RaidfsError('EINVAL', 'cannot rename /');
    this.metadata.transaction(() => {
      const source = this.existing(fromNames, from);
      const parent = this.parentDir(toNames, to, false);
      const name = toNames.at(-1)!;
      const target = this.metadata.child(parent.id, name);
      if (target?.id === source.id) return;
      if (source.kind === 'dir' && this.isWithin(parent.id, source.id)) {
        throw new RaidfsError('EINVAL', `cannot move ${from} under itself`);
      }
      if (target) {
        if (source.kind === 'dir' && target.kind !== 'dir') throw new RaidfsError('ENOTDIR', `${to} is not a directory`);
        if (source.kind !== 'dir' && target.kind === 'dir') throw new RaidfsError('EISDIR', `${to} is a directory`);
        if (target.kind === 'dir' && this.metadata.hasChildren(target.id)) throw new RaidfsError('ENOTEMPTY', `${to} is not empty`);
        this.metadata.removeName(target.nameId);
      }
      this.metadata.moveEntry(source, parent.id, name);
    });
  }

  /** Checks a write can land at `names` (fileNames of `path`), so a doomed upload fails before it starts (creates nothing). */
  checkWritable(names: readonly string[], path: string, options: WriteTarget): void {
    checkName(names.at(-1)!);
    const entry = this.metadata.resolve(names); // ENOTDIR if the path goes through a file, with `parents` too
    checkWriteTarget(entry, path, options);
    if (!entry && !options.parents) this.parentDir(names, path, false);
  }

  /**
   * The regular file a write to `names` (fileNames of `path`) lands in, from one
   * walk of the path, inside the caller's transaction: the file there now, checked
   * as a target, or a new empty one (mode 0644 unless given), in a parent directory
   * made first with `options.parents`.
   */
  fileForWrite(names: readonly string[], path: string, options: WriteTarget & NewFileOptions): Entry {
    const parent = this.parentDir(names, path, options.parents ?? false);
    const existing = this.metadata.child(parent.id, names.at(-1)!);
    checkWriteTarget(existing, path, options);
    return existing ?? this.metadata.insertEntry(parent.id, names.at(-1)!, {
      kind: 'file', uncommittedCreate: options.uncommittedCreate, ...ownedIn(parent, 'file', { uid: options.uid, gid: options.gid, mode: options.mode ?? 0o644 }),
    });
  }

  private existing(names: readonly string[], path: string): Entry {
    const entry = this.metadata.resolve(names);
    if (!entry) throw new RaidfsError('ENOENT', `${path} does not exist`);
    return entry;
  }

  private existingDir(path: string): Entry {
    const dir = this.existing(splitPath(path), path);
    if (dir.kind !== 'dir') throw new RaidfsError('ENOTDIR', `${path} is not a directory`);
    return dir;
  }

  /** The directory that holds the last component of `names`, created with `create`. */
  private parentDir(names: readonly string[], path: string, create: boolean): Entry {
    let dir = this.metadata.entry(ROOT_ID)!;
    for (const name of names.slice(0, -1)) {
      let next = this.metadata.child(dir.id, name);
      if (!next && create) next = this.metadata.insertEntry(dir.id, name, { kind: 'dir', ...ownedIn(dir, 'dir', { mode: 0o755 }) });
      if (!next) throw new RaidfsError('ENOENT', `parent directory of ${path} does not exist`);
      if (next.kind !== 'dir') throw new RaidfsError('ENOTDIR', `${name} in ${path} is not a directory`);
      dir = next;
    }
    return dir;
  }

  /** True if directory `id` is `ancestor` or lies below it. */
  private isWithin(id: number, ancestor: number): boolean {
    for (let cur = this.metadata.entry(id); cur; cur = cur.parentId === null ? undefined : this.metadata.entry(cur.parentId)) {
      if (cur.id === ancestor) return true;
    }
    return false;
  }

  /** Removes `dir` and everything below it, a page of entries at a time (however large a directory, one page in memory). */
  private removeTree(dir: Entry): void {
    for (let page; (page = this.metadata.childrenAfter(dir.id, 0, REMOVE_PAGE)).length > 0;) {
      for (const child of page) {
        if (child.kind === 'dir') this.removeTree(child);
        else this.metadata.removeName(child.nameId);
      }
    }
    this.metadata.removeName(dir.nameId);
  }
}

/** Throws unless `entry` (what is at `path` now, if anything) may be written as a regular file. */
function checkWriteTarget(entry: Entry | undefined, path: string, options: WriteTarget): void {
  if (entry?.kind === 'dir') throw new RaidfsError('EISDIR', `${path} is a directory`);
  if (entry && entry.kind !== 'file') throw new RaidfsError('EEXIST', `${path} exists and is not a regular file`);
  if (entry && options.exclusive) throw new RaidfsError('EEXIST', `${path} exists`);
  options.precondition?.(entry);
}
