/**
 * The browser bundle's default codec (the build swaps it in for `default-codec.ts`): our encoder,
 * and a decoder that accepts exactly what `Decoder` (src/protocol/socketio.ts) accepts and builds
 * the same packets, written for size rather than the server's throughput: the text grammar is one
 * regular expression, errors carry their code only. test/client/default-codec-browser.test.ts
 * checks that both agree.
 */
import type { PacketCodec } from '../protocol/codec.js';
import {
  isBinary,
  isPayloadValid,
  jsonDepthExceeds,
  reconstruct,
  safeJsonParse,
  SocketIODecodeError,
  SocketIOEncodeError,
  toBytes,
  type DecoderOptions,
  type EncodedPacket,
  type Packet,
  type SocketIODecodeErrorCode,
} from '../protocol/socketio.js';

type Parts = [string, ...Array<Uint8Array | Blob>];

/**
 * Binary values → placeholders in one walk (the portable encoder first searches, then copies): a
 * value without binary inside comes back as is, so JSON.stringify still sees the application's own
 * objects; one holding binary comes back as a copy. The portable rules: the same depth bound,
 * `toJSON` honoured, a Blob only when `blobs` (else a BLOB error).
 */
function strip(value: any, buffers: Array<Uint8Array | Blob>, blobs: boolean, depth: number): unknown {
  if (value === null || typeof value != 'object') return value;
  if (depth > 1000) throw new SocketIOEncodeError('TOO_DEEP', 'TOO_DEEP');
  if (isBinary(value)) {
    // (Every browser the bundle targets has Blob.)
    const blob = value instanceof Blob;
    if (blob && !blobs) throw new SocketIOEncodeError('BLOB', 'BLOB');
    return { _placeholder: true, num: buffers.push(blob ? value : toBytes(value as ArrayBuffer)) - 1 };
  }
  if (typeof value.toJSON == 'function') {
    const json = value.toJSON();
    const out = json === value ? json : strip(json, buffers, blobs, depth + 1);
    return out === json ? value : out;
  }
  let copy: any;
  const array = Array.isArray(value);
  for (const key of array ? value.keys() : Object.keys(value)) {
    const item = value[key];
    const out = strip(item, buffers, blobs, depth + 1);
    if (out !== item) (copy ??= array ? [...value] : { ...value })[key] = out;
  }
  return copy ?? value;
}

/** Socket.IO v5 "Packet encoding", as encodePacket (src/protocol/socketio.ts) writes it. */
function encode({ type, nsp, id, data }: Packet, blobs: boolean): Parts {
  const buffers: Array<Uint8Array | Blob> = [];
  // (BINARY_)EVENT and (BINARY_)ACK: the BINARY_ type exactly when the data holds binary.
  if (type > 1 && type != 4) {
    data = strip(data, buffers, blobs, 0);
    type = ((type + 1) % 3) + (buffers.length ? 5 : 2);
  }
  let text = type + (buffers.length ? buffers.length + '-' : '');
  if (nsp && nsp != '/') text += nsp + ',';
  if (id != null) text += id;
  if (data !== undefined) text += JSON.stringify(data);
  return [text, ...buffers];
}

/** encodePacketAsync for the browser bundle: Blobs are read (the Manager calls it on a BLOB error). */
export const encodePacketAsync = async (packet: Packet): Promise<EncodedPacket> => {
  const [text, ...parts] = encode(packet, true);
  return [text, ...(await Promise.all(parts.map((part) => (part instanceof Uint8Array ? part : part.arrayBuffer().then((bytes) => new Uint8Array(bytes))))))];
};

// Socket.IO v5 "Packet encoding": type [attachments "-"] [namespace ","] [ack id] [JSON]; the same
// bounds as the portable decoder (6 digits of attachments, 15 of ack id).
const PACKET = /^([0-6])(?:(\d{1,6})-)?(?:(\/[^,]*),?)?(\d{0,15})([^]*)$/;

const fail = (code: SocketIODecodeErrorCode) => new SocketIODecodeError(code, code);

export const defaultCodec = ({ maxAttachments = 10, maxDepth = 100 }: DecoderOptions): PacketCodec => ({
  encode: (packet) => encode(packet, false) as EncodedPacket,
  createDecoder() {
    // A binary packet waiting for its attachments, and those received so far.
    let pending: Packet | undefined;
    let buffers: unknown[] = [];
    const finish = (packet: Packet) => {
      const received = buffers;
      pending = undefined;
      buffers = [];
      packet.data = reconstruct(packet.data, received);
      return packet;
    };
    return {
      add(chunk) {
        if (typeof chunk != 'string') {
          if (!pending) throw fail('UNEXPECTED_BINARY');
          buffers.push(chunk);
          return buffers.length < pending.attachments! ? null : finish(pending);
        }
        if (pending) {
          pending = undefined;
          buffers = [];
          throw fail('UNEXPECTED_TEXT');
        }
        const match = PACKET.exec(chunk);
        if (!match) throw fail('INVALID_TYPE');
        const [, typeDigit, attachments, nsp = '/', id, json] = match;
        const type = +typeDigit!;
        // BINARY_EVENT and BINARY_ACK announce their attachments, no other type does.
        const binary = type == 5 || type == 6;
        if (binary != (attachments != null) || +attachments! > maxAttachments) throw fail('INVALID_ATTACHMENTS');
        // An ack id only on (BINARY_)EVENT and (BINARY_)ACK, always on the latter.
        if (id ? type < 2 || type == 4 : type == 3 || type == 6) throw fail('INVALID_ACK_ID');
        const packet: Packet = { type, nsp };
        if (binary) packet.attachments = +attachments!;
        if (id) packet.id = +id;
        if (json) {
          if (jsonDepthExceeds(json, 0, maxDepth)) throw fail('TOO_DEEP');
          try {
            packet.data = safeJsonParse(json);
          } catch {
            throw fail('INVALID_JSON');
          }
        }
        if (!isPayloadValid(type, packet.data)) throw fail('INVALID_PAYLOAD');
        if (!binary) return packet;
        if (!packet.attachments) return finish(packet);
        pending = packet;
        return null;
      },
      reset() {
        pending = undefined;
        buffers = [];
      },
    };
  },
});
