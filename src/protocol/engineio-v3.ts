/**
 * Engine.IO protocol v3 (the revision socket.io-client 2 and engine.io-client 3 speak), next to
 * v4 in `engineio.ts`. Pure: no I/O. Packet types and the open packet are v4's; what differs is
 * only how packets become bytes:
 *
 * - text packet: type digit then data, as in v4 (`4hello`, `2probe`);
 * - binary message on WebSocket: a binary frame whose FIRST BYTE is the packet type (4), then the
 *   data (v4 sends the data alone);
 * - binary message in text: `b` + type digit + base64 (`b4AQI=`; v4 has no type digit);
 * - text payload (polling): each packet as `<length>:<packet>`, the length in UTF-16 code units
 *   of the packet text, e.g. `6:4hello2:40`; `0:` is the empty payload;
 * - binary payload (polling body `application/octet-stream`, from clients with XHR2): per packet
 *   one flag byte (0 text, 1 binary), the length's decimal digits as bytes 0..9, a 255 byte, then
 *   the packet: UTF-8 text, or type byte + data.
 *
 * The server writes polling bodies as text payloads (binary as `b4` + base64), which every v3
 * client reads; it reads both payload forms.
 *
 * @example
 * ```ts
 * import { encodePayloadV3, decodePayloadV3 } from './engineio-v3.js';
 * encodePayloadV3([{ type: 'message', data: 'hello' }, { type: 'message', data: new Uint8Array([1, 2]) }]);
 * // '6:4hello6:b4AQI='
 * decodePayloadV3('6:4hello2:40'); // [{ type: 'message', data: 'hello' }, { type: 'message', data: '0' }]
 * ```
 */
import {
  decodeBase64,
  decodePacket,
  encodeBase64,
  EngineDecodeError,
  PACKET_TYPES,
  type DecodePayloadOptions,
  type EnginePacket,
} from './engineio.js';

/** The `EIO` query value of this revision. */
export const PROTOCOL_V3 = 3;

const MESSAGE_TYPE = 4;
const CHAR_0 = 48;
const CHAR_COLON = 58;
const CHAR_B = 98;
const BYTE_END_OF_LENGTH = 255;
const TEXT_FLAG = 0;
const BINARY_FLAG = 1;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/**
 * Encodes one packet. With `supportsBinary` (WebSocket) a binary message becomes type byte +
 * data; without it (text only) `b4` + base64.
 */
export function encodePacketV3(packet: EnginePacket, supportsBinary: boolean): string | Uint8Array {
  const { data } = packet;
  const digit = PACKET_TYPES.indexOf(packet.type);
  if (data === undefined) return String(digit);
  if (typeof data === 'string') return digit + data;
  return supportsBinary ? withTypeByte(data) : 'b' + digit + encodeBase64(data);
}

/** Binary message bytes as a v3 WebSocket frame carries them: the type byte, then the data. */
export function withTypeByte(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.byteLength + 1);
  out[0] = MESSAGE_TYPE;
  out.set(data, 1);
  return out;
}

/**
 * Decodes one packet: a text frame or payload record (`b4…` is base64 binary), or the bytes of
 * a binary frame (type byte first). Throws {@link EngineDecodeError} on anything else.
 */
export function decodePacketV3(input: string | Uint8Array): EnginePacket {
  if (typeof input !== 'string') return decodeBinaryRecord(input, 0, input.byteLength);
  return decodeTextRecord(input, 0, input.length);
}

function decodeTextRecord(text: string, start: number, end: number): EnginePacket {
  if (end > start && text.charCodeAt(start) === CHAR_B) {
    if (end - start < 2 || text.charCodeAt(start + 1) !== CHAR_0 + MESSAGE_TYPE) {
      throw new EngineDecodeError('UNKNOWN_PACKET_TYPE', 'base64 packet that is not a message');
    }
    return { type: 'message', data: decodeBase64(text, start + 2, end) };
  }
  return decodePacket(start === 0 && end === text.length ? text : text.slice(start, end));
}

/** A binary record: type byte (only `message` carries bytes), then the data, as a view (no copy). */
function decodeBinaryRecord(bytes: Uint8Array, start: number, end: number): EnginePacket {
  if (end === start) throw new EngineDecodeError('EMPTY_PACKET', 'empty packet');
  if (bytes[start] !== MESSAGE_TYPE) {
    throw new EngineDecodeError('UNKNOWN_PACKET_TYPE', `binary packet of type ${bytes[start]}`);
  }
  return { type: 'message', data: bytes.subarray(start + 1, end) };
}

/** Where the last {@link readLength} found the terminator (a second result without an allocation). */
let lengthEnd = 0;

/**
 * Reads a record length: decimal digits (values 0..9 from `digitAt`) from `i` up to the
 * `terminator` value. A length is refused as soon as it reaches past `size`, so a run of digits
 * costs no more than its own length and never overflows into imprecise numbers.
 */
function readLength(digitAt: (at: number) => number, size: number, i: number, terminator: number): number {
  const digitsStart = i;
  let length = 0;
  for (;;) {
    if (i >= size) throw new EngineDecodeError('INVALID_LENGTH', 'payload ends inside a length');
    const digit = digitAt(i);
    if (digit === terminator) break;
    if (!(digit >= 0 && digit <= 9)) throw new EngineDecodeError('INVALID_LENGTH', `invalid length digit at ${i}`);
    length = length * 10 + digit;
    if (length > size) throw new EngineDecodeError('INVALID_LENGTH', 'record length past the end of the payload');
    i++;
  }
  if (i === digitsStart) throw new EngineDecodeError('INVALID_LENGTH', `missing length at ${i}`);
  if (i + 1 + length > size) throw new EngineDecodeError('INVALID_LENGTH', 'record length past the end of the payload');
  lengthEnd = i;
  return length;
}

/** One payload record: `<length>:<packet>` (lengths count UTF-16 code units). */
export function lengthPrefixed(packetText: string): string {
  return packetText.length + ':' + packetText;
}

/** Encodes packets as a v3 text payload (binary as `b4` + base64). */
export function encodePayloadV3(packets: readonly EnginePacket[]): string {
  if (packets.length === 0) return '0:';
  let out = '';
  for (const packet of packets) out += lengthPrefixed(encodePacketV3(packet, false) as string);
  return out;
}

/**
 * Decodes a v3 text payload. Records are read in place (offsets, no slicing of the rest), a
 * length never reaches past the input, and any bad record rejects the whole payload with
 * {@link EngineDecodeError}. Zero-length records carry no packet (`0:` is the empty payload).
 */
export function decodePayloadV3(payload: string, options: DecodePayloadOptions = {}): EnginePacket[] {
  const maxPackets = options.maxPackets ?? Infinity;
  if (payload.length === 0) throw new EngineDecodeError('EMPTY_PACKET', 'empty payload');
  const packets: EnginePacket[] = [];
  let i = 0;
  const codeAt = (at: number) => payload.charCodeAt(at) - CHAR_0;
  while (i < payload.length) {
    const length = readLength(codeAt, payload.length, i, CHAR_COLON - CHAR_0);
    const start = lengthEnd + 1;
    const end = start + length;
    if (length > 0) {
      if (packets.length >= maxPackets) {
        throw new EngineDecodeError('TOO_MANY_PACKETS', `payload has more than ${maxPackets} packets`);
      }
      packets.push(decodeTextRecord(payload, start, end));
    }
    i = end;
  }
  return packets;
}

/** Encodes packets as a v3 binary payload (what XHR2 clients post as `application/octet-stream`). */
export function encodeBinaryPayloadV3(packets: readonly EnginePacket[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const packet of packets) {
    const encoded = encodePacketV3(packet, true);
    const body = typeof encoded === 'string' ? utf8Encoder.encode(encoded) : encoded;
    const digits = String(body.byteLength);
    const head = new Uint8Array(digits.length + 2);
    head[0] = typeof encoded === 'string' ? TEXT_FLAG : BINARY_FLAG;
    for (let d = 0; d < digits.length; d++) head[d + 1] = digits.charCodeAt(d) - CHAR_0;
    head[head.length - 1] = BYTE_END_OF_LENGTH;
    parts.push(head, body);
    total += head.byteLength + body.byteLength;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/**
 * Decodes a v3 binary payload. Text records must be valid UTF-8; binary records are views into
 * `bytes` (no copy). Any bad record rejects the whole payload with {@link EngineDecodeError}.
 */
export function decodeBinaryPayloadV3(bytes: Uint8Array, options: DecodePayloadOptions = {}): EnginePacket[] {
  const maxPackets = options.maxPackets ?? Infinity;
  if (bytes.byteLength === 0) throw new EngineDecodeError('EMPTY_PACKET', 'empty payload');
  const packets: EnginePacket[] = [];
  const byteAt = (at: number) => bytes[at]!;
  let i = 0;
  while (i < bytes.byteLength) {
    const flag = bytes[i]!;
    if (flag !== TEXT_FLAG && flag !== BINARY_FLAG) {
      throw new EngineDecodeError('INVALID_LENGTH', `invalid record flag ${flag} at ${i}`);
    }
    const length = readLength(byteAt, bytes.byteLength, i + 1, BYTE_END_OF_LENGTH);
    const start = lengthEnd + 1;
    const end = start + length;
    if (packets.length >= maxPackets) {
      throw new EngineDecodeError('TOO_MANY_PACKETS', `payload has more than ${maxPackets} packets`);
    }
    if (flag === BINARY_FLAG) {
      packets.push(decodeBinaryRecord(bytes, start, end));
    } else {
      let text: string;
      try {
        text = utf8Decoder.decode(bytes.subarray(start, end));
      } catch {
        throw new EngineDecodeError('UNKNOWN_PACKET_TYPE', `text record at ${start} is not UTF-8`);
      }
      packets.push(decodeTextRecord(text, 0, text.length));
    }
    i = end;
  }
  return packets;
}
