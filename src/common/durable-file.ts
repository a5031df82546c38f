/**
 * Small files that must survive a power loss whole: written to a temp file, fsynced,
 * renamed into place and the directory fsynced, so the name never shows an empty or
 * torn file (ext4 may leave a file written without fsync empty after a crash).
 */
import * as fsSync from 'node:fs';
import path from 'node:path';

/** Makes a directory's entries durable. */
export function fsyncDirectory(dir: string): void {
  const fd = fsSync.openSync(dir, 'r');
  try {
    fsSync.fsyncSync(fd);
  } finally {
    fsSync.closeSync(fd);
  }
}

/** Replaces `file` with `data`, durably (see the header). For small files: the calls are synchronous. */
export function writeFileDurably(file: string, data: string | Buffer): void {
  const tmp = `${file}.tmp`;
  const fd = fsSync.openSync(tmp, 'w', 0o644);
  try {
    fsSync.writeFileSync(fd, data);
    fsSync.fsyncSync(fd);
  } finally {
    fsSync.closeSync(fd);
  }
  fsSync.renameSync(tmp, file);
  fsyncDirectory(path.dirname(file));
}
