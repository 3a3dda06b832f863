/**
 * The server's packet codec: ours (Socket.IO v5 text packets with binary attachments) by default,
 * or a socket.io-compatible custom parser given as the `parser` option (for example
 * `socket.io-msgpack-parser`), so clients configured with the same parser connect unchanged.
 * Packets a custom parser decodes are checked like ours before the server sees them.
 */
import { Decoder, SocketIODecodeError, checkPacket, encodePacket, type Packet } from '../protocol/socketio.js';

/** A socket.io-compatible parser module: `Encoder` and `Decoder` classes (socket.io-parser's shape). */
export interface ParserModule {
  Encoder: new () => { encode(packet: Packet): Array<string | Uint8Array> };
  Decoder: new () => {
    add(chunk: string | Uint8Array): void;
    on(event: 'decoded', listener: (packet: unknown) => void): unknown;
    destroy?(): void;
  };
}

/** Decodes one connection's chunks: a packet once one is complete; throws SocketIODecodeError. */
export interface PacketDecoder {
  add(chunk: string | Uint8Array): Packet | null;
  /** Drops a packet in progress (the connection closed). */
  reset(): void;
}

export interface PacketCodec {
  encode(packet: Packet): Array<string | Uint8Array>;
  createDecoder(): PacketDecoder;
}

export function createCodec(parser: ParserModule | undefined, maxAttachments: number): PacketCodec {
  if (parser === undefined) return { encode: encodePacket, createDecoder: () => new Decoder({ maxAttachments }) };
  const encoder = new parser.Encoder();
  return {
    encode: (packet) => encoder.encode(packet),
    createDecoder() {
      const decoder = new parser.Decoder();
      let decoded: unknown[] = [];
      decoder.on('decoded', (packet) => decoded.push(packet));
      return {
        add(chunk) {
          try {
            decoder.add(chunk);
          } catch (err) {
            throw new SocketIODecodeError('INVALID_PAYLOAD', `parser: ${err instanceof Error ? err.message : String(err)}`);
          }
          if (decoded.length === 0) return null;
          if (decoded.length > 1) throw new SocketIODecodeError('INVALID_PAYLOAD', 'parser: more than one packet in a message');
          const [packet] = decoded;
          decoded = [];
          return checkPacket(packet);
        },
        reset: () => decoder.destroy?.(),
      };
    },
  };
}
