/**
 * Binary value codec for messages between nodes. JSON cannot carry the Buffers that event
 * arguments may contain, so values are written with a one-byte tag each:
 *
 * | tag  | value                                   | tag  | value                                |
 * |------|-----------------------------------------|------|--------------------------------------|
 * | 0x00 | null                                    | 0x07 | string: varint byte length + UTF-8    |
 * | 0x01 | undefined                               | 0x08 | bytes: varint length + raw bytes      |
 * | 0x02 | false                                   | 0x09 | array: varint count + values          |
 * | 0x03 | true                                    | 0x0a | object: varint count + (key, value)*  |
 * | 0x04 | float64 (little endian)                 | 0x0b | Date: float64 ms since epoch          |
 * | 0x05 | non-negative integer < 2^53 (varint)    | 0x06 | negative integer > -2^53 (varint of -n)|
 *
 * Varints are LEB128 (7 bits per byte, low group first). Objects follow JSON rules (own enumerable
 * string keys, `toJSON` honoured, functions and symbols skipped), except that binary values and
 * Dates survive the trip. Decoding never throws anything but {@link CodecError}, never recurses
 * deeper than {@link MAX_DEPTH}, and never allocates more than the input can describe; keys such as
 * `__proto__` become plain own properties, so a message cannot pollute prototypes.
 *
 * @example
 * ```ts
 * const bytes = encodeValue({ ev: 'file', args: [Buffer.from([1, 2])] });
 * decodeValue(bytes); // { ev: 'file', args: [<Buffer 01 02>] }
 * ```
 */

/**
 * Above the deepest packet a server decodes by default (100) plus the envelope around it and some
 * wrapping by the application, so any packet a client may send can be broadcast between nodes.
 */
export const MAX_DEPTH = 160;

/** Bytes that are not a valid encoding: truncated, too deep, or with impossible counts. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

const enum Tag {
  Null = 0x00,
  Undefined = 0x01,
  False = 0x02,
  True = 0x03,
  Float = 0x04,
  PosInt = 0x05,
  NegInt = 0x06,
  String = 0x07,
  Bytes = 0x08,
  Array = 0x09,
  Object = 0x0a,
  Date = 0x0b,
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Growable output buffer; one per encode call, sized up front for typical messages. */
export class Writer {
  protected buf: Buffer;
  protected pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Makes room for `n` more bytes (other formats' writers build on this buffer). */
  protected reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(byte: number): void {
    this.reserve(1);
    this.buf[this.pos++] = byte;
  }

  varint(n: number): void {
    this.reserve(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  float(n: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(n, this.pos);
    this.pos += 8;
  }

  string(s: string): void {
    // Short ASCII-ish strings: reserve the worst case and write in place, then backfill the length.
    if (s.length < 0x80 / 3) {
      this.reserve(1 + s.length * 3);
      const start = this.pos++;
      const n = this.buf.write(s, this.pos, 'utf8');
      this.buf[start] = n;
      this.pos += n;
      return;
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.varint(n);
    this.reserve(n);
    this.buf.write(s, this.pos, n, 'utf8');
    this.pos += n;
  }

  bytes(b: Uint8Array): void {
    this.varint(b.byteLength);
    this.reserve(b.byteLength);
    this.buf.set(b, this.pos);
    this.pos += b.byteLength;
  }

  /** The encoded bytes (a view on the internal buffer; the writer must not be reused after). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function toBytes(value: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

/** Appends one value to `w`. Throws {@link CodecError} for values JSON could not carry either. */
export function writeValue(w: Writer, value: unknown, depth = 0): void {
  if (depth > MAX_DEPTH) throw new CodecError(`value nested deeper than ${MAX_DEPTH} levels (circular?)`);
  switch (typeof value) {
    case 'string':
      w.u8(Tag.String);
      w.string(value);
      return;
    case 'number':
      if (Number.isSafeInteger(value) && !Object.is(value, -0)) {
        if (value >= 0) {
          w.u8(Tag.PosInt);
          w.varint(value);
        } else {
          w.u8(Tag.NegInt);
          w.varint(-value);
        }
      } else {
        w.u8(Tag.Float);
        w.float(value);
      }
      return;
    case 'boolean':
      w.u8(value ? Tag.True : Tag.False);
      return;
    case 'undefined':
    case 'function':
    case 'symbol':
      w.u8(Tag.Undefined);
      return;
    case 'bigint':
      throw new CodecError('bigint values cannot be sent between nodes');
  }
  if (value === null) {
    w.u8(Tag.Null);
    return;
  }
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    w.u8(Tag.Bytes);
    w.bytes(toBytes(value));
    return;
  }
  if (value instanceof Date) {
    w.u8(Tag.Date);
    w.float(value.getTime());
    return;
  }
  if (Array.isArray(value)) {
    w.u8(Tag.Array);
    w.varint(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = value[i];
      // JSON turns functions and symbols inside arrays into null.
      writeValue(w, typeof item === 'function' || typeof item === 'symbol' ? null : item, depth + 1);
    }
    return;
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    writeValue(w, toJSON.call(value), depth + 1);
    return;
  }
  const obj = value as Record<string, unknown>;
  let count = 0;
  for (const key in obj) {
    if (hasOwn.call(obj, key) && isCarried(obj[key])) count++;
  }
  w.u8(Tag.Object);
  w.varint(count);
  for (const key in obj) {
    if (!hasOwn.call(obj, key)) continue;
    const item = obj[key];
    if (!isCarried(item)) continue;
    w.string(key);
    writeValue(w, item, depth + 1);
  }
}

/** JSON drops object properties whose value is undefined, a function or a symbol. */
function isCarried(v: unknown): boolean {
  const t = typeof v;
  return t !== 'undefined' && t !== 'function' && t !== 'symbol';
}

export function encodeValue(value: unknown): Buffer {
  const w = new Writer();
  writeValue(w, value);
  return w.finish();
}

/** Cursor over an input buffer. All reads are bounds-checked. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start = 0,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new CodecError('truncated input');
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      n += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (n > Number.MAX_SAFE_INTEGER) break;
        return n;
      }
      scale *= 0x80;
    }
    throw new CodecError('varint out of range');
  }

  float(): number {
    if (this.remaining < 8) throw new CodecError('truncated input');
    const n = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return n;
  }

  private span(): [number, number] {
    const n = this.varint();
    if (n > this.remaining) throw new CodecError('length exceeds input');
    const start = this.pos;
    this.pos += n;
    return [start, this.pos];
  }

  string(): string {
    const [start, end] = this.span();
    return this.buf.toString('utf8', start, end);
  }

  bytes(): Buffer {
    const [start, end] = this.span();
    // Copy: the input may be a pooled network buffer that must not be retained.
    return Buffer.from(this.buf.subarray(start, end));
  }
}

export function readValue(r: Reader, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new CodecError(`value nested deeper than ${MAX_DEPTH} levels`);
  const tag = r.u8();
  switch (tag) {
    case Tag.Null:
      return null;
    case Tag.Undefined:
      return undefined;
    case Tag.False:
      return false;
    case Tag.True:
      return true;
    case Tag.Float:
      return r.float();
    case Tag.PosInt:
      return r.varint();
    case Tag.NegInt:
      return -r.varint();
    case Tag.String:
      return r.string();
    case Tag.Bytes:
      return r.bytes();
    case Tag.Date:
      return new Date(r.float());
    case Tag.Array: {
      const count = r.varint();
      // Every element takes at least one byte: a count larger than the input is a lie.
      if (count > r.remaining) throw new CodecError('array count exceeds input');
      const out = new Array(count);
      for (let i = 0; i < count; i++) out[i] = readValue(r, depth + 1);
      return out;
    }
    case Tag.Object: {
      const count = r.varint();
      if (count * 2 > r.remaining) throw new CodecError('object count exceeds input');
      const out: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) {
        const key = r.string();
        const item = readValue(r, depth + 1);
        if (key === '__proto__') {
          // Same result as JSON.parse: an own property, never a prototype change.
          Object.defineProperty(out, key, { value: item, enumerable: true, writable: true, configurable: true });
        } else {
          out[key] = item;
        }
      }
      return out;
    }
    default:
      throw new CodecError(`unknown tag 0x${tag.toString(16)}`);
  }
}

export function decodeValue(buf: Buffer): unknown {
  const r = new Reader(buf);
  const value = readValue(r);
  if (r.remaining !== 0) throw new CodecError('trailing bytes after value');
  return value;
}
