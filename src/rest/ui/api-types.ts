/**
 * The JSON the dashboard reads, as the page sees it: GET /status (ClusterStatus,
 * src/core/cluster-status.ts), GET /fs/DIR/ (listedEntryJson) and GET /files/ID/info
 * (fileInfoJson, both in src/rest/representations.ts). Only the fields the page
 * uses; a node is the server's own NodeStatus. Types only, no code: the browser
 * test assigns the server's own values to these types, so the build fails if the
 * two drift apart.
 */
import type { NodeStatus, RefusedNode } from '../../core/node-status.js';

/** A node: the server's own declaration (dependency-free, so the browser build reads it too). */
export type NodeView = NodeStatus;

/** A node refused at registration (another cluster's): the server's own declaration too. */
export type RefusedNodeView = RefusedNode;

interface PassTimes {
  startedMs: number;
  finishedMs: number | null;
}

export interface RepairView extends PassTimes {
  lostNodes: string[];
  underReplicated: number;
  copiesMade: number;
  rewritten: number;
  bytesCopied: number;
  failed: number;
}

export interface ScrubView extends PassTimes {
  chunksVerified: number;
  bytesVerified: number;
  missing: number;
  corrupt: number;
  rewritten: number;
  orphans: number;
}

export interface PassView<R> {
  running: boolean;
  current: R | null;
  last: R | null;
}

export interface StatusView {
  replicas: number;
  nodes: NodeView[];
  refusedNodes: RefusedNodeView[];
  nodesUp: number;
  nodesDown: number;
  capacityBytes: number;
  freeBytes: number;
  usedBytes: number;
  parts: { total: number; underReplicated: number; unavailable: number; damaged: number };
  damagedFiles: Array<{ id: number; path: string }>;
  repair: PassView<RepairView>;
  scrub: PassView<ScrubView>;
}

export interface EntryView {
  id: number;
  name: string;
  path: string;
  type: 'file' | 'dir' | 'symlink';
  size: number;
  target?: string | null;
  modified: string;
}

export interface ListingView {
  path: string;
  entries: EntryView[];
}

export interface PartView {
  index: number;
  offset: number;
  size: number;
  chunk_id: string;
  /** The chunk's checksum: its algorithm ('blake3'; 'sha256' for chunks stored before BLAKE3) and hex digest. */
  checksum: { algorithm: string; digest: string };
  replicas: Array<{ node: string; alive: boolean }>;
}

export interface FileInfoView {
  id: number;
  path: string;
  size: number;
  content_type: string;
  created: string;
  modified: string;
  parts: PartView[];
}
