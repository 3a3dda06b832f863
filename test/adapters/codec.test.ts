import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CodecError, MAX_DEPTH, decodeValue, encodeValue } from '../../src/adapters/codec.js';
import { DEFAULT_MAX_DEPTH } from '../../src/protocol/socketio.js';
import { ENVELOPE_VERSION, MessageType, decodeMessage, encodeMessage } from '../../src/adapters/envelope.js';

/** JSON-like values plus Buffers and Dates: everything an event argument may hold. */
const valueArb = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }),
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
    fc.date({ noInvalidDate: true }),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 6 }),
  object: fc.dictionary(fc.string(), tie('node'), { maxKeys: 6, noNullPrototype: true }),
}));

test('codec: round trip of JSON-like values with Buffers and Dates', () => {
  fc.assert(
    fc.property(valueArb.node, (value) => {
      assert.deepStrictEqual(decodeValue(encodeValue(value)), value);
    }),
    { numRuns: 500 },
  );
});

test('codec: follows JSON rules for what it cannot carry', () => {
  const fn = () => 1;
  const decoded = decodeValue(
    encodeValue({ a: undefined, b: fn, c: Symbol('x'), d: [fn, undefined], e: { toJSON: () => 'j' }, n: -0 }),
  );
  assert.deepStrictEqual(decoded, { d: [null, undefined], e: 'j', n: -0 });
  assert.ok(Object.is((decoded as { n: number }).n, -0));
  // Typed arrays and ArrayBuffers arrive as bytes.
  const u16 = new Uint16Array([1, 258]);
  assert.deepStrictEqual(decodeValue(encodeValue([u16, u16.buffer])), [
    Buffer.from(u16.buffer),
    Buffer.from(u16.buffer),
  ]);
  assert.throws(() => encodeValue({ n: 10n }), CodecError);
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.throws(() => encodeValue(circular), CodecError);
});

test('codec: long strings and large byte arrays use multi-byte lengths', () => {
  const s = 'é'.repeat(70_000);
  const b = Buffer.alloc(300_000, 7);
  assert.deepStrictEqual(decodeValue(encodeValue({ s, b })), { s, b });
});

test('codec: __proto__ keys stay own properties (no prototype pollution)', () => {
  const hostile = JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}');
  const decoded = decodeValue(encodeValue(hostile)) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  assert.deepStrictEqual(Object.keys(decoded), ['__proto__', 'constructor']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((decoded as { polluted?: unknown }).polluted, undefined);
});

test('codec: random bytes never throw anything but CodecError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      try {
        decodeValue(Buffer.from(bytes));
      } catch (err) {
        assert.ok(err instanceof CodecError, String(err));
      }
      try {
        decodeMessage(Buffer.from(bytes));
      } catch (err) {
        assert.ok(err instanceof CodecError, String(err));
      }
    }),
    { numRuns: 3000 },
  );
});

test('codec: mutated valid encodings never throw anything but CodecError', () => {
  fc.assert(
    fc.property(valueArb.node, fc.nat(), fc.integer({ min: 0, max: 255 }), (value, at, byte) => {
      const bytes = Buffer.from(encodeValue(value));
      bytes[at % bytes.length] = byte;
      try {
        decodeValue(bytes);
      } catch (err) {
        assert.ok(err instanceof CodecError, String(err));
      }
      try {
        decodeValue(bytes.subarray(0, at % bytes.length));
      } catch (err) {
        assert.ok(err instanceof CodecError, String(err));
      }
    }),
    { numRuns: 1000 },
  );
});

test('codec: hostile counts and depth are refused without allocation or stack overflow', () => {
  // Array claiming 2^40 elements in a 7-byte input.
  assert.throws(() => decodeValue(Buffer.from([0x09, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20])), CodecError);
  // Object claiming a huge count.
  assert.throws(() => decodeValue(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f])), CodecError);
  // Varint longer than 53 bits.
  assert.throws(() => decodeValue(Buffer.from([0x05, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), CodecError);
  // 10,000 nested one-element arrays.
  const deep = Buffer.alloc(20_001);
  for (let i = 0; i < 10_000; i++) {
    deep[2 * i] = 0x09;
    deep[2 * i + 1] = 1;
  }
  deep[20_000] = 0x00;
  assert.throws(() => decodeValue(deep), /deeper than/);
  // The encoder refuses what the decoder would refuse.
  let nested: unknown = 1;
  for (let i = 0; i <= MAX_DEPTH + 1; i++) nested = [nested];
  assert.throws(() => encodeValue(nested), CodecError);
});

test('the deepest packet a server accepts by default crosses nodes, inside its envelope', () => {
  let deepest: unknown = 'x';
  for (let i = 1; i < DEFAULT_MAX_DEPTH; i++) deepest = [deepest]; // with the packet's own array: DEFAULT_MAX_DEPTH levels
  const body = { packet: { type: 2, nsp: '/', data: ['e', deepest] }, opts: { rooms: ['r'], except: [], flags: { wrap: [{}] } } };
  const message = { type: MessageType.BROADCAST, uid: 'u', seq: 1, nsp: '/', body };
  assert.deepStrictEqual(decodeMessage(encodeMessage(message)), message);
});

test('envelope: round trip and version check', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...(Object.values(MessageType).filter((v) => typeof v === 'number') as MessageType[])),
      fc.string(),
      fc.maxSafeNat(),
      fc.string(),
      valueArb.node,
      (type, uid, seq, nsp, body) => {
        assert.deepStrictEqual(decodeMessage(encodeMessage({ type, uid, seq, nsp, body })), { type, uid, seq, nsp, body });
      },
    ),
    { numRuns: 300 },
  );
  const bytes = encodeMessage({ type: MessageType.HEARTBEAT, uid: 'u', nsp: '/' });
  assert.equal(bytes[0], ENVELOPE_VERSION);
  const future = Buffer.from(bytes);
  future[0] = ENVELOPE_VERSION + 1;
  assert.throws(() => decodeMessage(future), /unsupported envelope version/);
  const badType = Buffer.from(bytes);
  badType[1] = 99;
  assert.throws(() => decodeMessage(badType), /unknown message type/);
});
