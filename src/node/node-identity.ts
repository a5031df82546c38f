/**
 * A node's id lives in its data directory (file `node-id`), so a node restarted on
 * the same data is the same node to the controller. An id given on the command line
 * must match the one recorded; a data directory is never silently adopted by another
 * node id. The file is written durably before the node serves: an empty one (a crash
 * before that) counts as none.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { makeDirectory } from '../common/directory-problems';
import { writeFileDurably } from '../common/durable-file';

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isNodeId(value: string): boolean {
  return NODE_ID.test(value);
}

export async function resolveNodeId(dataDir: string, requested?: string): Promise<string> {
  if (requested !== undefined && !isNodeId(requested)) {
    throw new Error(`invalid node id ${JSON.stringify(requested)}: use 1-64 letters, digits, '.', '_' or '-'`);
  }
  const file = path.join(dataDir, 'node-id');
  const recorded = (await fs.readFile(file, 'utf8').catch(() => '')).trim();
  if (recorded) {
    if (requested !== undefined && requested !== recorded) {
      throw new Error(`data directory ${dataDir} belongs to node ${recorded}, not ${requested}`);
    }
    return recorded;
  }
  const id = requested ?? `node-${randomBytes(4).toString('hex')}`;
  makeDirectory(dataDir, 'data directory');
  writeFileDurably(file, `${id}\n`); // before the node stores anything under this id
  return id;
}
