/**
 * Socket.IO protocol v5 packet codec. Pure: no I/O, no Node-only APIs, so the browser client
 * reuses it as is.
 *
 * Wire grammar (Socket.IO protocol v5, "Packet encoding"):
 *   type [attachments "-"] [nsp ","] [ackId] [json]
 * Binary values anywhere in the data are replaced by `{"_placeholder":true,"num":k}` and sent as
 * k-th attachment after the text packet.
 *
 * @example
 * ```ts
 * const [text, ...attachments] = encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['hi', bytes] });
 * const decoder = new Decoder();
 * decoder.add(text);                       // null: waiting for 1 attachment
 * const packet = decoder.add(attachments[0]); // { type: BINARY_EVENT, nsp: '/', data: ['hi', bytes] }
 * ```
 */

import { DETAILED_ERRORS } from './detail.js';

/** Socket.IO v5 packet types (the first character of an encoded packet). */
export enum PacketType {
  CONNECT = 0,
  DISCONNECT = 1,
  EVENT = 2,
  ACK = 3,
  CONNECT_ERROR = 4,
  BINARY_EVENT = 5,
  BINARY_ACK = 6,
}

/** A Socket.IO packet (protocol v5): its type, namespace, payload and acknowledgement id. */
export interface Packet {
  type: PacketType;
  /** Namespace, always starting with `/`. */
  nsp: string;
  data?: unknown;
  /** Acknowledgement id: requested (EVENT) or answered (ACK). */
  id?: number;
  /** Number of binary attachments (BINARY_EVENT / BINARY_ACK only; filled by the codec). */
  attachments?: number;
}

/** Encoded packet: the text part first, then each binary attachment in placeholder order. */
export type EncodedPacket = [string, ...Uint8Array[]];

/** Event names an application may neither emit nor receive (Socket.IO v5 "reserved events"). */
export const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);

export const DEFAULT_MAX_ATTACHMENTS = 10;

/**
 * Deepest nesting of arrays and objects a received packet may carry, counting the packet's own data
 * array as 1. Deep enough for any honest payload; shallow enough that every recursion over decoded
 * values (ours, JSON.stringify of an echo, the application's) stays far from the stack limit.
 */
export const DEFAULT_MAX_DEPTH = 100;

/** Recursion bound when encoding values the application built (a cycle or absurd depth fails cleanly). */
const MAX_ENCODE_DEPTH = 1000;

export type SocketIODecodeErrorCode =
  | 'INVALID_TYPE'
  | 'INVALID_ATTACHMENTS'
  | 'TOO_MANY_ATTACHMENTS'
  | 'INVALID_ACK_ID'
  | 'INVALID_JSON'
  | 'INVALID_PAYLOAD'
  | 'UNEXPECTED_BINARY'
  | 'UNEXPECTED_TEXT'
  | 'INVALID_PLACEHOLDER'
  | 'TOO_DEEP';

/** The only error the decoder throws. Any such error must close the whole connection. */
export class SocketIODecodeError extends Error {
  override readonly name = 'SocketIODecodeError';
  constructor(
    readonly code: SocketIODecodeErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Thrown by {@link encodePacket}: `BLOB` for data it cannot encode synchronously (read it with
 * {@link encodePacketAsync}), `TOO_DEEP` for data nested deeper than any packet should be (a cycle).
 */
export class SocketIOEncodeError extends Error {
  override readonly name = 'SocketIOEncodeError';
  constructor(
    readonly code: 'BLOB' | 'TOO_DEEP',
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Binary detection and (de)construction

const hasBlob = typeof Blob === 'function';

/** True for every binary value the protocol carries as an attachment. */
export function isBinary(value: unknown): value is ArrayBuffer | ArrayBufferView | Blob {
  return (
    value instanceof ArrayBuffer ||
    ArrayBuffer.isView(value) ||
    (hasBlob && value instanceof Blob) ||
    (typeof SharedArrayBuffer === 'function' && value instanceof SharedArrayBuffer)
  );
}

/** Deep search for binary values (arrays and plain object values, honouring `toJSON`). */
export function hasBinary(value: unknown, depth = 0): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (depth > MAX_ENCODE_DEPTH) throw tooDeepToEncode();
  if (isBinary(value)) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasBinary(value[i], depth + 1)) return true;
    return false;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // A toJSON that returns its object is sent as is, as deconstruct() does (no endless descent).
    const json = toJSON.call(value);
    return json !== value && hasBinary(json, depth + 1);
  }
  for (const key in value) {
    if (Object.hasOwn(value, key) && hasBinary((value as Record<string, unknown>)[key], depth + 1)) {
      return true;
    }
  }
  return false;
}

/** A binary value as the bytes sent (a view of the same memory, no copy). */
export function toBytes(value: ArrayBuffer | ArrayBufferView | SharedArrayBuffer): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

/** The error for data nested deeper than any packet should be (a cycle). */
export function tooDeepToEncode(): SocketIOEncodeError {
  return new SocketIOEncodeError('TOO_DEEP', `data nested deeper than ${MAX_ENCODE_DEPTH} levels (circular?)`);
}

/**
 * Depth-first replacement of binary values by placeholders (does not mutate the input). A Blob
 * stops the encoding, unless `blobs` is set: then it is kept as an attachment, for the caller to read.
 */
function deconstruct(value: unknown, buffers: Array<Uint8Array | Blob>, blobs: boolean, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_ENCODE_DEPTH) throw tooDeepToEncode();
  if (isBinary(value)) {
    const isBlob = hasBlob && value instanceof Blob;
    if (isBlob && !blobs) throw new SocketIOEncodeError('BLOB', DETAILED_ERRORS ? 'Blob attachments need encodePacketAsync()' : 'BLOB');
    buffers.push(isBlob ? value : toBytes(value as ArrayBuffer | ArrayBufferView));
    return { _placeholder: true, num: buffers.length - 1 };
  }
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = deconstruct(value[i], buffers, blobs, depth + 1);
    return out;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    const json = toJSON.call(value);
    return json === value ? value : deconstruct(json, buffers, blobs, depth + 1);
  }
  const out: Record<string, unknown> = {};
  for (const key in value) {
    if (Object.hasOwn(value, key)) {
      out[key] = deconstruct((value as Record<string, unknown>)[key], buffers, blobs, depth + 1);
    }
  }
  return out;
}

/** Replaces placeholders in place by the received attachments (depth already bounded by the decoder). */
export function reconstruct(value: unknown, buffers: unknown[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = reconstruct(value[i], buffers);
    return value;
  }
  const obj = value as Record<string, unknown>;
  if (obj._placeholder === true) {
    // (Number.isInteger is false for anything but a number.)
    const num = obj.num as number;
    if (!Number.isInteger(num) || num < 0 || num >= buffers.length) {
      throw new SocketIODecodeError('INVALID_PLACEHOLDER', DETAILED_ERRORS ? 'attachment placeholder out of range' : 'INVALID_PLACEHOLDER');
    }
    return buffers[num];
  }
  for (const key of Object.keys(obj)) obj[key] = reconstruct(obj[key], buffers);
  return obj;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes a packet. EVENT/ACK carrying binary data become BINARY_EVENT/BINARY_ACK with
 * attachments; the input packet and its data are not modified.
 */
export function encodePacket(packet: Packet): EncodedPacket {
  return encode(packet, false) as EncodedPacket;
}

/** Like {@link encodePacket}, reading any Blob in the data (browsers). */
export async function encodePacketAsync(packet: Packet): Promise<EncodedPacket> {
  const [text, ...attachments] = encode(packet, true);
  const read = (part: Uint8Array | Blob) => (part instanceof Uint8Array ? part : part.arrayBuffer().then((bytes) => new Uint8Array(bytes)));
  return [text, ...(await Promise.all(attachments.map(read)))];
}

function encode(packet: Packet, blobs: boolean): [string, ...Array<Uint8Array | Blob>] {
  let type = packet.type;
  let data = packet.data;
  let buffers: Array<Uint8Array | Blob> | undefined;
  if (
    (type === PacketType.EVENT || type === PacketType.ACK || type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) &&
    hasBinary(data)
  ) {
    buffers = [];
    data = deconstruct(data, buffers, blobs);
    type = type === PacketType.EVENT || type === PacketType.BINARY_EVENT ? PacketType.BINARY_EVENT : PacketType.BINARY_ACK;
  } else if (type === PacketType.BINARY_EVENT) {
    type = PacketType.EVENT;
  } else if (type === PacketType.BINARY_ACK) {
    type = PacketType.ACK;
  }
  let text = String(type);
  if (buffers) text += buffers.length + '-';
  if (packet.nsp && packet.nsp !== '/') text += packet.nsp + ',';
  if (packet.id != null) text += packet.id;
  if (data !== undefined) text += JSON.stringify(data);
  return buffers ? [text, ...buffers] : [text];
}

// ---------------------------------------------------------------------------------------------
// Decoding

const POLLUTION_HINT = /__proto__|constructor/;

/** Drops `__proto__` keys and `constructor: { prototype }` so decoded data cannot pollute prototypes. */
function safeReviver(this: unknown, key: string, value: unknown): unknown {
  if (key === '__proto__') return undefined;
  if (key === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype')) {
    return undefined;
  }
  return value;
}

/** `JSON.parse` without prototype pollution; the reviver only runs when a risky key may be present. */
export function safeJsonParse(text: string): unknown {
  return POLLUTION_HINT.test(text) ? JSON.parse(text, safeReviver) : JSON.parse(text);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Whether `data` is a valid payload for a packet of this type (Socket.IO v5 "Packet types"). */
export function isPayloadValid(type: PacketType, data: unknown): boolean {
  switch (type) {
    case PacketType.CONNECT:
      return data === undefined || isPlainObject(data);
    case PacketType.DISCONNECT:
      return data === undefined;
    case PacketType.CONNECT_ERROR:
      return typeof data === 'string' || isPlainObject(data);
    case PacketType.EVENT:
    case PacketType.BINARY_EVENT:
      return (
        Array.isArray(data) &&
        data.length > 0 &&
        ((typeof data[0] === 'string' && !RESERVED_EVENTS.has(data[0])) || typeof data[0] === 'number')
      );
    case PacketType.ACK:
    case PacketType.BINARY_ACK:
      return Array.isArray(data);
  }
}

/**
 * Checks a packet that another decoder produced (a custom parser's) by the rules {@link decodeText}
 * applies, and returns a copy with only the protocol's fields. Throws {@link SocketIODecodeError}.
 */
export function checkPacket(value: unknown, maxDepth = DEFAULT_MAX_DEPTH): Packet {
  if (value === null || typeof value !== 'object') throw new SocketIODecodeError('INVALID_TYPE', 'packet is not an object');
  const { type, nsp, id, data } = value as Record<string, unknown>;
  if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > 6) {
    throw new SocketIODecodeError('INVALID_TYPE', 'unknown packet type');
  }
  if (typeof nsp !== 'string' || nsp[0] !== '/') throw new SocketIODecodeError('INVALID_PAYLOAD', 'invalid namespace');
  const withAck = type === PacketType.EVENT || type === PacketType.BINARY_EVENT || type === PacketType.ACK || type === PacketType.BINARY_ACK;
  if (id != null && !(withAck && Number.isSafeInteger(id) && (id as number) >= 0)) {
    throw new SocketIODecodeError('INVALID_ACK_ID', 'invalid ack id');
  }
  if ((type === PacketType.ACK || type === PacketType.BINARY_ACK) && id == null) {
    throw new SocketIODecodeError('INVALID_ACK_ID', 'ack packet without id');
  }
  if (!isPayloadValid(type, data)) throw new SocketIODecodeError('INVALID_PAYLOAD', 'invalid payload for packet type');
  if (valueDepthExceeds(data, maxDepth)) throw new SocketIODecodeError('TOO_DEEP', `payload nested deeper than ${maxDepth} levels`);
  const packet: Packet = { type, nsp };
  if (id != null) packet.id = id as number;
  if (data !== undefined) packet.data = data;
  return packet;
}

const isDigit = (code: number) => code >= 48 && code <= 57;

/**
 * True when the JSON text from `start` nests arrays/objects deeper than `max`. One pass over the
 * characters, skipping string contents (a bracket inside a string does not count); texts too short
 * to hold `max + 1` brackets are not scanned.
 */
export function jsonDepthExceeds(text: string, start: number, max: number): boolean {
  if (text.length - start <= max) return false;
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip to the closing quote; a backslash escapes the next character.
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > max) return true;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/** The same bound for a value another decoder built: iterative, so the walk itself cannot overflow. */
function valueDepthExceeds(value: unknown, max: number): boolean {
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  while (stack.length > 0) {
    const item = stack.pop();
    const depth = depths.pop()!;
    if (item === null || typeof item !== 'object' || isBinary(item)) continue;
    if (depth > max) return true;
    const children = Array.isArray(item) ? item : Object.values(item);
    for (const child of children) {
      if (child !== null && typeof child === 'object') {
        stack.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * Decodes the text part of a packet. For BINARY_* packets `attachments` says how many binary
 * chunks must follow; placeholders are still in `data`. Throws {@link SocketIODecodeError}.
 */
export function decodeText(str: string, maxAttachments = DEFAULT_MAX_ATTACHMENTS, maxDepth = DEFAULT_MAX_DEPTH): Packet {
  const type = str.charCodeAt(0) - 48;
  if (!(type >= 0 && type <= 6) || str.length === 0) {
    throw new SocketIODecodeError('INVALID_TYPE', 'unknown packet type');
  }
  const packet: Packet = { type, nsp: '/' };
  let i = 1;

  if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
    const start = i;
    while (i < str.length && isDigit(str.charCodeAt(i))) i++;
    if (i === start || str[i] !== '-' || i - start > 6) {
      // The message socket.io-parser gives, which applications and tests match on.
      throw new SocketIODecodeError('INVALID_ATTACHMENTS', 'Illegal attachments');
    }
    const attachments = Number(str.slice(start, i));
    if (attachments > maxAttachments) {
      throw new SocketIODecodeError('TOO_MANY_ATTACHMENTS', `more than ${maxAttachments} attachments`);
    }
    packet.attachments = attachments;
    i++;
  }

  // Namespace: up to "," or end of string (a trailing comma is optional on input).
  if (str[i] === '/') {
    const comma = str.indexOf(',', i);
    const end = comma === -1 ? str.length : comma;
    packet.nsp = str.slice(i, end);
    i = comma === -1 ? end : end + 1;
  }

  // The id's value is accumulated while its digits are scanned (no substring, no Number()); at
  // most 15 digits are accepted, which stay exact in a double.
  const idStart = i;
  let id = 0;
  for (let c; i < str.length && isDigit((c = str.charCodeAt(i))); i++) id = id * 10 + (c - 48);
  if (i > idStart) {
    if (i - idStart > 15) throw new SocketIODecodeError('INVALID_ACK_ID', 'ack id too large');
    packet.id = id;
  }
  if ((type === PacketType.ACK || type === PacketType.BINARY_ACK) && packet.id === undefined) {
    throw new SocketIODecodeError('INVALID_ACK_ID', 'ack packet without id');
  }
  if (packet.id !== undefined && type !== PacketType.EVENT && type !== PacketType.BINARY_EVENT && type !== PacketType.ACK && type !== PacketType.BINARY_ACK) {
    throw new SocketIODecodeError('INVALID_ACK_ID', 'ack id on a packet type without acks');
  }

  if (i < str.length) {
    // Checked on the text, before anything is built: a deep value must not reach any recursion.
    if (jsonDepthExceeds(str, i, maxDepth)) {
      throw new SocketIODecodeError('TOO_DEEP', `payload nested deeper than ${maxDepth} levels`);
    }
    try {
      packet.data = safeJsonParse(str.slice(i));
    } catch {
      throw new SocketIODecodeError('INVALID_JSON', 'invalid JSON payload');
    }
  }
  if (!isPayloadValid(type, packet.data)) {
    throw new SocketIODecodeError('INVALID_PAYLOAD', 'invalid payload for packet type');
  }
  return packet;
}

export interface DecoderOptions {
  /** Most binary attachments a packet may announce (default 10). */
  maxAttachments?: number;
  /** Deepest nesting of arrays and objects in a packet's data, its own array counting 1 (default 100). */
  maxDepth?: number;
}

/** A binary chunk as the transports deliver it (Buffer in Node, ArrayBuffer in browsers). */
export type BinaryChunk = Uint8Array | ArrayBuffer;

/**
 * Streaming decoder: feed each Engine.IO message; returns a complete packet, or `null` while
 * attachments are still expected. After a thrown {@link SocketIODecodeError} the connection must be
 * closed; the decoder is reset either way.
 */
export class Decoder {
  readonly maxAttachments: number;
  readonly maxDepth: number;
  private pending: Packet | null = null;
  private buffers: BinaryChunk[] | null = null;

  constructor(options: DecoderOptions = {}) {
    this.maxAttachments = options.maxAttachments ?? DEFAULT_MAX_ATTACHMENTS;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** True while a binary packet waits for attachments. */
  get waiting(): boolean {
    return this.pending !== null;
  }

  add(chunk: string | BinaryChunk): Packet | null {
    if (typeof chunk === 'string') {
      if (this.pending) {
        this.reset();
        throw new SocketIODecodeError('UNEXPECTED_TEXT', 'text packet while attachments were expected');
      }
      const packet = decodeText(chunk, this.maxAttachments, this.maxDepth);
      if (packet.attachments === undefined) return packet;
      if (packet.attachments === 0) return this.finish(packet, []);
      this.pending = packet;
      return null;
    }
    if (!this.pending) {
      throw new SocketIODecodeError('UNEXPECTED_BINARY', 'binary data without a pending packet');
    }
    const buffers = (this.buffers ??= []);
    buffers.push(chunk);
    if (buffers.length < this.pending.attachments!) return null;
    const packet = this.pending;
    this.reset();
    return this.finish(packet, buffers);
  }

  /** Drops a partially received packet. */
  reset(): void {
    this.pending = null;
    this.buffers = null;
  }

  private finish(packet: Packet, buffers: BinaryChunk[]): Packet {
    packet.data = reconstruct(packet.data, buffers);
    return packet;
  }
}
