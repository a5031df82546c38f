/**
 * What the maintenance passes (repair, scrub) work with: the metadata, the node
 * registry, requests to nodes, the verified part reader, and the set of chunks not
 * yet committed. One object, built once by the controller.
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
}
