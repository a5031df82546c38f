/**
 * What the maintenance passes (repair, scrub) work with: the metadata, the node
 * registry, requests to nodes, the verified part reader, the set of chunks not
 * yet committed, and the paths of files (to name them in reports). One object, built
 * once by the controller.
 */
import { ChunkIO } from './chunk-io';
import { MetadataStore } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import { PartReader } from './part-reader';
import { UncommittedChunks } from './uncommitted-chunks';

export interface ClusterAccess {
  readonly metadata: MetadataStore;
  readonly registry: NodeRegistry;
  readonly io: ChunkIO;
  readonly reader: PartReader;
  readonly uncommitted: UncommittedChunks;
  /** The path of the file with id `fileId` (one of its names, if it has several). */
  pathOfFile(fileId: number): string;
}
