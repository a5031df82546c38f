/**
 * The cluster a node belongs to, recorded in its data directory (file `cluster-id`):
 * the id of the metadata of the first controller it registered with. The node names
 * it in every registration, and a controller of another cluster refuses it
 * (core/cluster-membership.ts), so its chunks are never taken for the orphans of
 * metadata they were not stored under.
 *
 * Invariants: recorded once, durably and whole (common/durable-file.ts), and never
 * changed by the node: to give a node to another cluster, empty its data directory.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileDurably } from '../common/durable-file';

const FILE = 'cluster-id';

/** The cluster id recorded in `dataDir`, or '' if none is. */
export async function readClusterId(dataDir: string): Promise<string> {
  return (await fs.readFile(path.join(dataDir, FILE), 'utf8').catch(() => '')).trim();
}

export function recordClusterId(dataDir: string, clusterId: string): void {
  writeFileDurably(path.join(dataDir, FILE), `${clusterId}\n`);
}
