/**
 * The browser bundle's default codec (the build swaps it in for `default-codec.ts`): our encoder,
 * and a decoder that accepts exactly what `Decoder` (src/protocol/socketio.ts) accepts and builds
 * the same packets, written for size rather than the server's throughput: the text grammar is one
 * regular expression, errors carry their code only. test/client/default-codec-browser.test.ts
 * checks that both agree.
 */
import type { PacketCodec } from '../protocol/codec.js';
import {
  encodePacket,
  isPayloadValid,
  jsonDepthExceeds,
  reconstruct,
  safeJsonParse,
  SocketIODecodeError,
  type DecoderOptions,
  type Packet,
  type SocketIODecodeErrorCode,
} from '../protocol/socketio.js';

// Socket.IO v5 "Packet encoding": type [attachments "-"] [namespace ","] [ack id] [JSON]; the same
// bounds as the portable decoder (6 digits of attachments, 15 of ack id).
const PACKET = /^([0-6])(?:(\d{1,6})-)?(?:(\/[^,]*),?)?(\d{0,15})([^]*)$/;

const fail = (code: SocketIODecodeErrorCode) => new SocketIODecodeError(code, code);

export const defaultCodec = ({ maxAttachments = 10, maxDepth = 100 }: DecoderOptions): PacketCodec => ({
  encode: encodePacket,
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
