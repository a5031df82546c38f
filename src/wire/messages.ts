/**
 * The wire messages, as generated from proto/raidfs.proto, and the one way to turn
 * a received ZeroMQ multipart message into a typed request or reply.
 *
 * Invariants: frame 1 is always an Envelope; frame 2 (chunk bytes) is present exactly
 * on StoreChunk and ChunkData. Anything else is a ProtocolError, which receivers log
 * and survive: a peer that sends garbage never takes the receiver down.
 */
import { raidfs } from './generated/raidfs';

export import wire = raidfs.wire;
export type Envelope = raidfs.wire.IEnvelope;
export type BodyKind = NonNullable<raidfs.wire.Envelope['body']>;
export type NodeReport = raidfs.wire.INodeReport;
export const ErrorCode = raidfs.wire.ErrorCode;
export type ErrorCode = raidfs.wire.ErrorCode;

/** Largest envelope (frame 1) any peer accepts; envelopes carry ids, never data. */
export const MAX_ENVELOPE_BYTES = 1 << 20;

/** Largest chunk (frame 2) a node accepts, and so the largest stripe size. */
export const MAX_CHUNK_BYTES = 64 << 20;

/** A frame sequence that does not follow the protocol. */
export class ProtocolError extends Error {}

/** A decoded message: the envelope, which body it carries, and the chunk bytes, if any. */
export interface Message {
  envelope: raidfs.wire.Envelope;
  kind: BodyKind;
  payload?: Buffer;
}

const PAYLOAD_KINDS: ReadonlySet<BodyKind> = new Set<BodyKind>(['storeChunk', 'chunkData']);

/** Encodes an envelope and (for StoreChunk/ChunkData) its payload as ZeroMQ frames. */
export function encodeMessage(envelope: Envelope, payload?: Buffer): Buffer[] {
  const head = Buffer.from(raidfs.wire.Envelope.encode(envelope).finish());
  return payload === undefined ? [head] : [head, payload];
}

/** Decodes frames (without any routing id) into a Message, or throws ProtocolError. */
export function decodeMessage(frames: Buffer[]): Message {
  if (frames.length < 1 || frames.length > 2) {
    throw new ProtocolError(`expected 1 or 2 frames, got ${frames.length}`);
  }
  const [head, payload] = frames;
  if (head.length > MAX_ENVELOPE_BYTES) throw new ProtocolError(`envelope of ${head.length} bytes is too large`);
  let envelope: raidfs.wire.Envelope;
  try {
    envelope = raidfs.wire.Envelope.decode(head);
  } catch (err) {
    throw new ProtocolError(`undecodable envelope: ${(err as Error).message}`);
  }
  const kind = envelope.body;
  if (!kind) throw new ProtocolError('envelope has no body');
  if (PAYLOAD_KINDS.has(kind) !== (payload !== undefined)) {
    throw new ProtocolError(`${kind} ${payload === undefined ? 'needs' : 'must not have'} a data frame`);
  }
  return { envelope, kind, payload };
}

/**
 * Decoded bodies by kind. Decoding yields instances of the generated classes, whose
 * proto3 fields always hold a value (the default when absent on the wire).
 */
export interface DecodedBody {
  register: wire.Register;
  heartbeat: wire.Heartbeat;
  registerAck: wire.RegisterAck;
  storeChunk: wire.StoreChunk;
  getChunk: wire.GetChunk;
  deleteChunks: wire.DeleteChunks;
  listChunks: wire.ListChunks;
  storeChunkAck: wire.StoreChunkAck;
  chunkData: wire.ChunkData;
  deleteChunksAck: wire.DeleteChunksAck;
  chunkList: wire.ChunkList;
  verifyChunks: wire.VerifyChunks;
  verifyResult: wire.VerifyResult;
  error: wire.ErrorReply;
}

/** The body object of a decoded envelope, typed by its kind. */
export function bodyOf<K extends BodyKind>(envelope: raidfs.wire.Envelope, kind: K): DecodedBody[K] {
  const body = envelope[kind];
  if (body === null || body === undefined) throw new ProtocolError(`envelope has no ${kind}`);
  return body as DecodedBody[K];
}
