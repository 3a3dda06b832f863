/**
 * The envelope of every message between nodes (pub/sub payloads and stream entries alike):
 *
 * ```
 * byte 0      format version (ENVELOPE_VERSION)
 * byte 1      MessageType
 * varint      sequence number per sending node (streams adapter: drops duplicates of retried writes)
 * string      uid of the sending node          (codec string: varint length + UTF-8)
 * string      namespace name
 * value       type-specific body               (codec value, binary safe)
 * ```
 *
 * A node that reads a version it does not know reports a BAD_MESSAGE error once and skips the
 * message, so a rolling upgrade degrades loudly instead of corrupting state.
 *
 * @example
 * ```ts
 * const bytes = encodeMessage({ type: MessageType.HEARTBEAT, uid: 'a1', nsp: '/' });
 * decodeMessage(bytes); // { type: MessageType.HEARTBEAT, uid: 'a1', seq: 0, nsp: '/', body: undefined }
 * ```
 */
import { CodecError, Reader, Writer, readValue, writeValue } from './codec.js';

/** The envelope format version this release writes and reads. */
export const ENVELOPE_VERSION = 1;

/** What a message between nodes is about. */
export enum MessageType {
  /** A node starts serving a namespace; peers answer with a HEARTBEAT so it learns them at once. */
  HELLO = 1,
  HEARTBEAT = 2,
  /** A node stops serving a namespace (clean shutdown). */
  BYE = 3,
  BROADCAST = 4,
  BROADCAST_CLIENT_COUNT = 5,
  BROADCAST_ACK = 6,
  SOCKETS_JOIN = 7,
  SOCKETS_LEAVE = 8,
  DISCONNECT_SOCKETS = 9,
  FETCH_SOCKETS = 10,
  FETCH_SOCKETS_RESPONSE = 11,
  SERVER_SIDE_EMIT = 12,
  SERVER_SIDE_EMIT_RESPONSE = 13,
}

/** A message between nodes, before encoding and after decoding. */
export interface ClusterMessage {
  type: MessageType;
  /** Sending node. */
  uid: string;
  /** Per-sender sequence number (0 when the transport does not need one). */
  seq?: number;
  nsp: string;
  body?: unknown;
}

/** Encodes a message into its envelope (see the module comment for the layout). */
export function encodeMessage(msg: ClusterMessage): Buffer {
  const w = new Writer(128);
  w.u8(ENVELOPE_VERSION);
  w.u8(msg.type);
  w.varint(msg.seq ?? 0);
  w.string(msg.uid);
  w.string(msg.nsp);
  writeValue(w, msg.body);
  return w.finish();
}

/** Decodes an envelope; throws {@link CodecError} (only) on anything malformed. */
export function decodeMessage(buf: Buffer): ClusterMessage {
  const r = new Reader(buf);
  const version = r.u8();
  if (version !== ENVELOPE_VERSION) {
    throw new CodecError(`unsupported envelope version ${version} (this node speaks ${ENVELOPE_VERSION})`);
  }
  const type = r.u8();
  if (!(type in MessageType) || type < MessageType.HELLO) throw new CodecError(`unknown message type ${type}`);
  const seq = r.varint();
  const uid = r.string();
  const nsp = r.string();
  const body = readValue(r);
  if (r.remaining !== 0) throw new CodecError('trailing bytes after message');
  return { type, uid, seq, nsp, body };
}
