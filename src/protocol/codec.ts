/**
 * The packet codec of the server and the client: ours (Socket.IO v5 text packets with binary
 * attachments) by default, or a socket.io-compatible custom parser given as the `parser` option
 * (for example `socket.io-msgpack-parser`), so both ends configured with the same parser talk.
 * Packets a custom parser decodes are checked like ours before anyone sees them.
 */
import { Decoder, SocketIODecodeError, checkPacket, encodePacket, type Packet } from './socketio.js';

/** What is bounded in every received packet. */
export interface DecodeLimits {
  maxAttachments: number;
  maxDepth: number;
}

/**
 * A socket.io-compatible parser module: `Encoder` and `Decoder` classes (socket.io-parser's shape).
 * Typed loosely, as parsers' own declarations vary: `encode` must return the parts to send (an
 * array of strings and bytes; a single part is accepted too), and the decoder emits `'decoded'`.
 */
export interface ParserModule {
  Encoder: new () => {
    /** Encodes a packet into one string or buffer, or an array of them (sent in order). */
    encode(packet: any): unknown;
  };
  Decoder: new () => {
    /** Takes one received string or buffer; emits `decoded` for each complete packet. */
    add(chunk: any): void;
    /** Listens to decoded packets. */
    on(event: 'decoded', listener: (packet: any) => void): unknown;
    /** Drops partial state when the connection closes. */
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

export function createCodec(parser: ParserModule | undefined, limits: DecodeLimits): PacketCodec {
  if (parser === undefined) return { encode: encodePacket, createDecoder: () => new Decoder(limits) };
  return parserCodec(parser, (packet) => checkPacket(packet, limits.maxDepth));
}

/**
 * A custom parser as a {@link PacketCodec}. `check` turns what its decoder emits into a packet or
 * throws; the server checks like its own decoder, the client trusts the parser's own checks (as
 * socket.io-client does) and so carries no checking code.
 */
export function parserCodec(parser: ParserModule, check: (decoded: unknown) => Packet = (decoded) => decoded as Packet): PacketCodec {
  const encoder = new parser.Encoder();
  return {
    encode(packet) {
      const parts = encoder.encode(packet) as string | Uint8Array | Array<string | Uint8Array>;
      return Array.isArray(parts) ? parts : [parts];
    },
    createDecoder() {
      const decoder = new parser.Decoder();
      let decoded: unknown[] = [];
      decoder.on('decoded', (packet) => decoded.push(packet));
      return {
        add(chunk) {
          try {
            decoder.add(chunk);
          } catch (err) {
            decoded = [];
            throw new SocketIODecodeError('INVALID_PAYLOAD', `parser: ${err instanceof Error ? err.message : String(err)}`);
          }
          const packets = decoded;
          decoded = [];
          if (packets.length === 0) return null;
          if (packets.length > 1) throw new SocketIODecodeError('INVALID_PAYLOAD', 'parser: more than one packet in a message');
          return check(packets[0]);
        },
        reset: () => decoder.destroy?.(),
      };
    },
  };
}
