/**
 * Chunk ids: 128 random bits as 32 lowercase hex digits. Nodes use the id as a file
 * name, so every id that crosses the wire is checked against this exact form first:
 * no '/', no '..', never empty, never long.
 */
import { randomBytes } from 'node:crypto';

const CHUNK_ID = /^[0-9a-f]{32}$/;

export function newChunkId(): string {
  return randomBytes(16).toString('hex');
}

export function isChunkId(value: unknown): value is string {
  return typeof value === 'string' && CHUNK_ID.test(value);
}
