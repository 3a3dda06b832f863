/**
 * The packet codec a Manager uses without a `parser` option: ours. The msgpack browser build
 * swaps this module for `default-codec.msgpack.ts`.
 */
import type { PacketCodec } from '../protocol/codec.js';
import { Decoder, encodePacket, type DecoderOptions } from '../protocol/socketio.js';

export const defaultCodec = (opts: DecoderOptions): PacketCodec => ({ encode: encodePacket, createDecoder: () => new Decoder(opts) });

/** Encodes a packet whose data may hold Blobs (read first); the Manager's fallback after a BLOB error. */
export { encodePacketAsync } from '../protocol/socketio.js';
