/**
 * Engine.IO protocol v4 packet and payload codec. Pure: no I/O, no Node-only APIs, so the
 * browser client reuses it unchanged.
 *
 * Wire forms (Engine.IO protocol v4, "Packet encoding" and "Payload encoding"):
 * - text packet: one type digit then the UTF-8 data, e.g. `4hello`, `2`, `3probe`;
 * - binary message on WebSocket: the raw bytes in a binary frame, no type prefix;
 * - binary message where only text is possible (HTTP long-polling): `b` + base64;
 * - payload (polling bodies): packets joined by the record separator `\x1e`.
 *
 * @example
 * ```ts
 * import { encodePayload, decodePayload } from './engineio.js';
 * const body = encodePayload([{ type: 'message', data: 'hi' }, { type: 'message', data: new Uint8Array([1, 2]) }]);
 * // body === '4hi\x1ebAQI='
 * decodePayload(body); // the same two packets back
 * ```
 */

/** Engine.IO protocol revision spoken here (the `EIO` query parameter). */
export const PROTOCOL = 4;

/** Separates packets inside a polling payload (v4; v3 used length prefixes). */
export const SEPARATOR = '\x1e';

/** The seven packet types, indexed by their wire digit. */
export const PACKET_TYPES = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'] as const;

/** An Engine.IO packet type: `open`, `close`, `ping`, `pong`, `message`, `upgrade` or `noop`. */
export type PacketType = (typeof PACKET_TYPES)[number];

/** A `message` packet carries text or bytes; every other type carries optional text (e.g. `probe`). */
export type EnginePacket =
  | { type: 'message'; data: string | Uint8Array }
  | { type: Exclude<PacketType, 'message'>; data?: string };

/** Fields of the open packet's JSON, exactly these five (clients check the key set). */
export interface OpenPacketData {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload: number;
}

export type EngineDecodeErrorCode =
  | 'EMPTY_PACKET'
  | 'UNKNOWN_PACKET_TYPE'
  | 'INVALID_BASE64'
  | 'TOO_MANY_PACKETS'
  | 'INVALID_OPEN_PACKET'
  /** Engine.IO v3 payloads: a record length that is missing, malformed or past the end. */
  | 'INVALID_LENGTH';

/** The only error the decoders throw, whatever the input. */
export class EngineDecodeError extends Error {
  override readonly name = 'EngineDecodeError';
  constructor(readonly code: EngineDecodeErrorCode, message: string) {
    super(message);
  }
}

const TYPE_DIGIT: Readonly<Record<PacketType, string>> = {
  open: '0', close: '1', ping: '2', pong: '3', message: '4', upgrade: '5', noop: '6',
};

const CHAR_0 = 48;
const CHAR_6 = 54;
const CHAR_B = 98;

/**
 * Encodes one packet. With `supportsBinary` (WebSocket) a binary message is returned as the
 * raw bytes themselves (no copy); without it (polling) as `b` + base64.
 */
export function encodePacket(packet: EnginePacket, supportsBinary?: true): string | Uint8Array;
export function encodePacket(packet: EnginePacket, supportsBinary: false): string;
export function encodePacket(packet: EnginePacket, supportsBinary = true): string | Uint8Array {
  const { data } = packet;
  if (typeof data === 'string') return TYPE_DIGIT[packet.type] + data;
  if (data === undefined) return TYPE_DIGIT[packet.type];
  return supportsBinary ? data : 'b' + encodeBase64(data);
}

/**
 * Decodes one packet: a string (text frame or one payload record) or bytes (a binary frame,
 * always a message). Throws {@link EngineDecodeError} on anything else.
 */
export function decodePacket(input: string | Uint8Array | ArrayBuffer): EnginePacket {
  if (typeof input !== 'string') {
    return { type: 'message', data: input instanceof Uint8Array ? input : new Uint8Array(input) };
  }
  return decodeRecord(input, 0, input.length);
}

/** Decodes the packet in `text` from `start` to `end`: records of a payload are read in place, not sliced out first. */
function decodeRecord(text: string, start: number, end: number): EnginePacket {
  if (end === start) throw new EngineDecodeError('EMPTY_PACKET', 'empty packet');
  const first = text.charCodeAt(start);
  if (first === CHAR_B) return { type: 'message', data: decodeBase64(text, start + 1, end) };
  if (first < CHAR_0 || first > CHAR_6) {
    throw new EngineDecodeError('UNKNOWN_PACKET_TYPE', `unknown packet type ${JSON.stringify(text[start])}`);
  }
  const type = PACKET_TYPES[first - CHAR_0]!;
  if (type === 'message') return { type, data: text.slice(start + 1, end) };
  return end - start > 1 ? { type, data: text.slice(start + 1, end) } : { type };
}

/**
 * Encodes packets as one polling payload. Text data must not contain `\x1e` (the protocol has
 * no escape for it; Socket.IO's JSON never does, since JSON escapes control characters).
 */
export function encodePayload(packets: readonly EnginePacket[]): string {
  let out = '';
  for (let i = 0; i < packets.length; i++) {
    if (i > 0) out += SEPARATOR;
    out += encodePacket(packets[i]!, false);
  }
  return out;
}

export interface DecodePayloadOptions {
  /** Refuse payloads with more packets than this (default: no limit beyond the input size). */
  maxPackets?: number;
}

/** Decodes a polling payload; any bad record rejects the whole payload with {@link EngineDecodeError}. */
export function decodePayload(payload: string, options: DecodePayloadOptions = {}): EnginePacket[] {
  const maxPackets = options.maxPackets ?? Infinity;
  const packets: EnginePacket[] = [];
  let start = 0;
  for (;;) {
    const end = payload.indexOf(SEPARATOR, start);
    if (packets.length >= maxPackets) {
      throw new EngineDecodeError('TOO_MANY_PACKETS', `payload has more than ${maxPackets} packets`);
    }
    packets.push(decodeRecord(payload, start, end === -1 ? payload.length : end));
    if (end === -1) return packets;
    start = end + 1;
  }
}

/** Builds the open packet's JSON text with exactly the five protocol fields. */
export function encodeOpenData(open: OpenPacketData): string {
  return JSON.stringify({
    sid: open.sid,
    upgrades: open.upgrades,
    pingInterval: open.pingInterval,
    pingTimeout: open.pingTimeout,
    maxPayload: open.maxPayload,
  });
}

/** Parses and validates the open packet's JSON (client side); copies only the known fields. */
export function parseOpenData(text: string | undefined): OpenPacketData {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new EngineDecodeError('INVALID_OPEN_PACKET', 'open packet data is not JSON');
  }
  if (typeof value !== 'object' || value === null) {
    throw new EngineDecodeError('INVALID_OPEN_PACKET', 'open packet data is not an object');
  }
  const { sid, upgrades, pingInterval, pingTimeout, maxPayload } = value as Record<string, unknown>;
  const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;
  if (
    typeof sid !== 'string' || sid.length === 0 ||
    !Array.isArray(upgrades) || !upgrades.every((u) => typeof u === 'string') ||
    !isCount(pingInterval) || !isCount(pingTimeout) || (maxPayload !== undefined && !isCount(maxPayload))
  ) {
    throw new EngineDecodeError('INVALID_OPEN_PACKET', 'open packet data has missing or invalid fields');
  }
  return { sid, upgrades: [...upgrades], pingInterval, pingTimeout, maxPayload: maxPayload ?? 0 };
}

// ---- base64 (RFC 4648 §4, standard alphabet), pure so it runs in browsers too ----

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Two output characters per 12 input bits: half the table look-ups of a 6-bit table. */
const PAIRS: string[] = [];
for (let i = 0; i < 4096; i++) PAIRS.push(ALPHABET[i >> 6]! + ALPHABET[i & 63]!);
/** Character code -> 6-bit value, or -1 for characters outside the alphabet. */
const SEXTETS = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) SEXTETS[ALPHABET.charCodeAt(i)] = i;

/** Standard base64 with `=` padding. */
export function encodeBase64(bytes: Uint8Array): string {
  const full = bytes.length - (bytes.length % 3);
  let out = '';
  for (let i = 0; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += PAIRS[n >> 12]! + PAIRS[n & 4095]!;
  }
  const rest = bytes.length - full;
  if (rest === 1) {
    const n = bytes[full]! << 4;
    out += PAIRS[n]! + '==';
  } else if (rest === 2) {
    const n = (bytes[full]! << 10) | (bytes[full + 1]! << 2);
    out += PAIRS[n >> 6]! + ALPHABET[n & 63]! + '=';
  }
  return out;
}

/**
 * Decodes standard base64 from `offset` to `end`; padding is optional, anything outside the
 * alphabet (including whitespace) is an {@link EngineDecodeError}.
 */
export function decodeBase64(text: string, offset = 0, end = text.length): Uint8Array {
  if (end - offset >= 4 && (end - offset) % 4 === 0) {
    if (text.charCodeAt(end - 1) === 61) end--;
    if (text.charCodeAt(end - 1) === 61) end--;
  }
  const chars = end - offset;
  if (chars % 4 === 1) throw new EngineDecodeError('INVALID_BASE64', 'truncated base64 data');
  const out = new Uint8Array((chars * 3) >> 2);
  let o = 0;
  let i = offset;
  const sextet = (at: number): number => {
    const code = text.charCodeAt(at);
    const value = code < 128 ? SEXTETS[code]! : -1;
    if (value < 0) throw new EngineDecodeError('INVALID_BASE64', `invalid base64 character at ${at}`);
    return value;
  };
  for (const whole = end - (chars % 4); i < whole; i += 4) {
    const n = (sextet(i) << 18) | (sextet(i + 1) << 12) | (sextet(i + 2) << 6) | sextet(i + 3);
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 255;
    out[o++] = n & 255;
  }
  if (end - i === 2) {
    out[o] = (sextet(i) << 2) | (sextet(i + 1) >> 4);
  } else if (end - i === 3) {
    const n = (sextet(i) << 10) | (sextet(i + 1) << 4) | (sextet(i + 2) >> 2);
    out[o++] = n >> 8;
    out[o] = n & 255;
  }
  return out;
}
