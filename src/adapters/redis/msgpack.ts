/**
 * MessagePack (https://github.com/msgpack/msgpack/blob/master/spec.md) for the socket.io wire
 * format of the pub/sub adapter: `@socket.io/redis-adapter` packs its messages with MessagePack
 * (through notepack.io), so a switchboard node that shares its channels must read and write the
 * same bytes.
 *
 * Mapping, as notepack.io does it: `bin` <-> Buffer, the timestamp extension (type -1) <-> Date,
 * `undefined` -> nil; objects follow JSON rules (own enumerable keys, `toJSON` honoured, functions
 * and `undefined` values skipped). Decoding throws only {@link CodecError}: lengths are checked
 * against the bytes left before anything is allocated, nesting is bounded by {@link MAX_DEPTH},
 * map keys such as `__proto__` become plain own properties, and two legacy notepack extensions
 * (type 0: `undefined` as `d4 00 00`, an ArrayBuffer otherwise) are read.
 *
 * @example
 * ```ts
 * const bytes = packValue(['uid', { type: 2, nsp: '/', data: ['hi', Buffer.from([1])] }]);
 * unpackValue(bytes); // ['uid', { type: 2, nsp: '/', data: ['hi', <Buffer 01>] }]
 * ```
 */
import { CodecError, MAX_DEPTH, Writer } from '../codec.js';

const TIMESTAMP_EXT = -1;
const LEGACY_EXT = 0;

/** The codec's growable buffer, with MessagePack's big-endian headers. */
class PackWriter extends Writer {
  /** A type byte followed by a big-endian unsigned integer of `size` bytes (1, 2, 4). */
  head(type: number, n: number, size: 1 | 2 | 4): void {
    this.reserve(1 + size);
    this.buf[this.pos++] = type;
    this.buf.writeUIntBE(n, this.pos, size);
    this.pos += size;
  }

  /** A length-prefixed header choosing the smallest form: fixed (when `fix` is given), 8, 16 or 32 bits. */
  sized(n: number, fix: { base: number; max: number } | null, t8: number | null, t16: number, t32: number): void {
    if (fix && n < fix.max) this.u8(fix.base | n);
    else if (t8 !== null && n < 0x100) this.head(t8, n, 1);
    else if (n < 0x10000) this.head(t16, n, 2);
    else if (n <= 0xffffffff) this.head(t32, n, 4);
    else throw new CodecError('value too large for MessagePack');
  }

  packInt(n: number): void {
    if (n >= 0) {
      if (n < 0x80) this.u8(n);
      else if (n < 0x100) this.head(0xcc, n, 1);
      else if (n < 0x10000) this.head(0xcd, n, 2);
      else if (n <= 0xffffffff) this.head(0xce, n, 4);
      else this.big(0xcf, BigInt(n));
    } else if (n >= -0x20) this.u8(n & 0xff);
    else if (n >= -0x80) this.head(0xd0, n & 0xff, 1);
    else if (n >= -0x8000) this.head(0xd1, n & 0xffff, 2);
    else if (n >= -0x80000000) this.head(0xd2, n >>> 0, 4);
    else this.big(0xd3, BigInt.asUintN(64, BigInt(n)));
  }

  private big(type: number, n: bigint): void {
    this.reserve(9);
    this.buf[this.pos++] = type;
    this.buf.writeBigUInt64BE(n, this.pos);
    this.pos += 8;
  }

  packFloat(n: number): void {
    this.reserve(9);
    this.buf[this.pos++] = 0xcb;
    this.buf.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }

  packString(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    this.sized(n, { base: 0xa0, max: 0x20 }, 0xd9, 0xda, 0xdb);
    this.reserve(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  packBytes(b: Uint8Array): void {
    this.sized(b.byteLength, null, 0xc4, 0xc5, 0xc6);
    this.reserve(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  packDate(d: Date): void {
    const ms = d.getTime();
    const seconds = Math.floor(ms / 1000);
    const nanos = Math.round((ms - seconds * 1000) * 1e6);
    this.reserve(15);
    if (nanos === 0 && seconds >= 0 && seconds <= 0xffffffff) {
      this.buf[this.pos++] = 0xd6; // fixext 4: seconds as uint32
      this.buf[this.pos++] = 0xff;
      this.buf.writeUInt32BE(seconds, this.pos);
      this.pos += 4;
    } else {
      this.buf[this.pos++] = 0xc7; // ext 8, 12 bytes: nanoseconds uint32, seconds int64
      this.buf[this.pos++] = 12;
      this.buf[this.pos++] = 0xff;
      this.buf.writeUInt32BE(nanos, this.pos);
      this.buf.writeBigInt64BE(BigInt(seconds), this.pos + 4);
      this.pos += 12;
    }
  }
}

function packInto(w: PackWriter, value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new CodecError(`value nested deeper than ${MAX_DEPTH} levels (circular?)`);
  switch (typeof value) {
    case 'string':
      w.packString(value);
      return;
    case 'number':
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) w.packInt(value);
      else w.packFloat(value);
      return;
    case 'boolean':
      w.u8(value ? 0xc3 : 0xc2);
      return;
    case 'undefined':
    case 'function':
    case 'symbol':
      w.u8(0xc0);
      return;
    case 'bigint':
      throw new CodecError('bigint values cannot be sent between nodes');
  }
  if (value === null) return w.u8(0xc0);
  if (value instanceof Uint8Array) return w.packBytes(value);
  if (ArrayBuffer.isView(value)) return w.packBytes(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (value instanceof ArrayBuffer) return w.packBytes(new Uint8Array(value));
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? w.u8(0xc0) : w.packDate(value);
  if (Array.isArray(value)) {
    w.sized(value.length, { base: 0x90, max: 0x10 }, null, 0xdc, 0xdd);
    for (const item of value) packInto(w, item, depth + 1);
    return;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return packInto(w, toJSON.call(value), depth + 1);
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined && typeof obj[k] !== 'function' && typeof obj[k] !== 'symbol');
  w.sized(keys.length, { base: 0x80, max: 0x10 }, null, 0xde, 0xdf);
  for (const key of keys) {
    w.packString(key);
    packInto(w, obj[key], depth + 1);
  }
}

/** Encodes one value. Throws {@link CodecError} for bigint and for structures nested too deep (cycles). */
export function packValue(value: unknown): Buffer {
  const w = new PackWriter();
  packInto(w, value, 0);
  return w.finish();
}

class PackReader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (n > this.remaining) throw new CodecError('truncated MessagePack value');
  }

  uint(size: 1 | 2 | 4): number {
    this.need(size);
    const n = this.buf.readUIntBE(this.pos, size);
    this.pos += size;
    return n;
  }

  int(size: 1 | 2 | 4): number {
    this.need(size);
    const n = this.buf.readIntBE(this.pos, size);
    this.pos += size;
    return n;
  }

  /** 64-bit integers become numbers (precision beyond 2^53 is lost, as in JavaScript's JSON). */
  int64(signed: boolean): number {
    this.need(8);
    const n = signed ? this.buf.readBigInt64BE(this.pos) : this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return Number(n);
  }

  float(size: 4 | 8): number {
    this.need(size);
    const n = size === 4 ? this.buf.readFloatBE(this.pos) : this.buf.readDoubleBE(this.pos);
    this.pos += size;
    return n;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  string(n: number): string {
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /** A count of items, each at least one byte: more than the bytes left cannot be honest. */
  count(size: 1 | 2 | 4, perItem: number): number {
    const n = this.uint(size);
    if (n * perItem > this.remaining) throw new CodecError('MessagePack length beyond the end of the message');
    return n;
  }
}

function readExt(r: PackReader, length: number): unknown {
  const type = r.int(1);
  const data = r.bytes(length);
  if (type === TIMESTAMP_EXT) {
    if (length === 4) return new Date(data.readUInt32BE(0) * 1000);
    if (length === 8) {
      const word = data.readBigUInt64BE(0);
      const nanos = Number(word >> 34n);
      const seconds = Number(word & 0x3ffffffffn);
      return new Date(seconds * 1000 + nanos / 1e6);
    }
    if (length === 12) return new Date(Number(data.readBigInt64BE(4)) * 1000 + data.readUInt32BE(0) / 1e6);
    throw new CodecError(`timestamp extension of ${length} bytes`);
  }
  if (type === LEGACY_EXT) return length === 1 && data[0] === 0 ? undefined : data;
  throw new CodecError(`unknown MessagePack extension type ${type}`);
}

function readArray(r: PackReader, n: number, depth: number): unknown[] {
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = readInto(r, depth + 1);
  return out;
}

function readMap(r: PackReader, n: number, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const key = readInto(r, depth + 1);
    if (typeof key !== 'string' && typeof key !== 'number') throw new CodecError('MessagePack map key is not a string or number');
    const value = readInto(r, depth + 1);
    // defineProperty: a "__proto__" key is data, never the object's prototype.
    Object.defineProperty(out, String(key), { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function readInto(r: PackReader, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new CodecError(`MessagePack value nested deeper than ${MAX_DEPTH} levels`);
  const b = r.uint(1);
  if (b < 0x80) return b;
  if (b < 0x90) return readMap(r, b & 0x0f, depth);
  if (b < 0xa0) return readArray(r, b & 0x0f, depth);
  if (b < 0xc0) return r.string(b & 0x1f);
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xc4: return r.bytes(r.uint(1));
    case 0xc5: return r.bytes(r.uint(2));
    case 0xc6: return r.bytes(r.uint(4));
    case 0xc7: return readExt(r, r.uint(1));
    case 0xc8: return readExt(r, r.uint(2));
    case 0xc9: return readExt(r, r.uint(4));
    case 0xca: return r.float(4);
    case 0xcb: return r.float(8);
    case 0xcc: return r.uint(1);
    case 0xcd: return r.uint(2);
    case 0xce: return r.uint(4);
    case 0xcf: return r.int64(false);
    case 0xd0: return r.int(1);
    case 0xd1: return r.int(2);
    case 0xd2: return r.int(4);
    case 0xd3: return r.int64(true);
    case 0xd4: return readExt(r, 1);
    case 0xd5: return readExt(r, 2);
    case 0xd6: return readExt(r, 4);
    case 0xd7: return readExt(r, 8);
    case 0xd8: return readExt(r, 16);
    case 0xd9: return r.string(r.uint(1));
    case 0xda: return r.string(r.uint(2));
    case 0xdb: return r.string(r.uint(4));
    case 0xdc: return readArray(r, r.count(2, 1), depth);
    case 0xdd: return readArray(r, r.count(4, 1), depth);
    case 0xde: return readMap(r, r.count(2, 2), depth);
    case 0xdf: return readMap(r, r.count(4, 2), depth);
  }
  throw new CodecError(`invalid MessagePack byte 0x${b.toString(16)}`);
}

/** Decodes one value that fills `buf` exactly; throws {@link CodecError} (only) on anything malformed. */
export function unpackValue(buf: Buffer): unknown {
  const r = new PackReader(buf);
  const value = readInto(r, 0);
  if (r.remaining !== 0) throw new CodecError('trailing bytes after MessagePack value');
  return value;
}
