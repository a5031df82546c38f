/**
 * The JSON shapes of the REST facade, each built in one place: a file (the course
 * API's fields: id, filename, size, content_type, created, ... plus its path), a
 * file's part and replica layout (with each copy's fault), and a directory listing.
 * Field names are snake_case like the course API; times are ISO 8601 strings in UTC.
 */
import type { Entry, FileSnapshot, NodeStatus } from '../core/controller';
import { childPath } from '../core/paths';
import { DEFAULT_MEDIA_TYPE } from './media-type';
import { algorithmName } from '../wire/checksum';

interface FileJson {
  id: number;
  filename: string;
  path: string;
  size: number;
  content_type: string;
  created: string;
  modified: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A file as reached by `path` (one of its names, if it has hard links: `filename` is that one). */
export function fileJson(entry: Entry, path: string): FileJson {
  return {
    id: entry.id,
    filename: path.slice(path.lastIndexOf('/') + 1) || entry.name,
    path,
    size: entry.size,
    content_type: entry.contentType ?? DEFAULT_MEDIA_TYPE,
    created: iso(entry.createdMs),
    modified: iso(entry.modifiedMs),
  };
}

/**
 * A file with where each part's copies are, whether those nodes are alive now, and
 * each copy's fault: null, or what a scrub or read found wrong with it and no rewrite
 * mended since ('missing', 'corrupt', 'unreadable'; see CopyFault).
 */
export function fileInfoJson(snapshot: FileSnapshot, path: string, nodes: readonly NodeStatus[]) {
  const alive = new Map(nodes.map((n) => [n.id, n.alive]));
  return {
    ...fileJson(snapshot.entry, path),
    version: snapshot.entry.version,
    parts: snapshot.parts.map((part) => ({
      index: part.idx,
      offset: part.offset,
      size: part.size,
      chunk_id: part.chunkId,
      checksum: { algorithm: algorithmName(part.checksum.algorithm), digest: part.checksum.digest.toString('hex') },
      replicas: part.nodes.map((node) => ({ node, alive: alive.get(node) ?? false, fault: part.faults[node] ?? null })),
    })),
  };
}

/** An entry of the directory at `dirPath`, as a listing (GET /fs/DIR/) shows it. */
export function listedEntryJson(dirPath: string, entry: Entry) {
  return {
    id: entry.id,
    name: entry.name,
    path: childPath(dirPath, entry.name),
    type: entry.kind,
    size: entry.size,
    ...(entry.kind === 'file' ? { content_type: entry.contentType ?? DEFAULT_MEDIA_TYPE } : {}),
    ...(entry.kind === 'symlink' ? { target: entry.target } : {}),
    modified: iso(entry.modifiedMs),
  };
}
