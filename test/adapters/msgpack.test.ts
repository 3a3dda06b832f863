// The MessagePack codec of the socket.io wire format, checked against notepack.io (the packer
// @socket.io/redis-adapter uses) in both directions, and fed hostile bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import notepack from 'notepack.io';
import { CodecError, MAX_DEPTH } from '../../src/adapters/codec.js';
import { packValue, unpackValue } from '../../src/adapters/redis/msgpack.js';

/** What event arguments and socket.io's envelopes hold: JSON-like values, Buffers and Dates. */
const values = (double: fc.Arbitrary<number>) => fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.integer({ min: -0x80000000 - 1000, max: -0x80000000 + 1000 }),
    double,
    fc.string({ unit: 'binary' }),
    fc.string({ minLength: 30, maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.date({ noInvalidDate: true }),
  ),
  node: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 20 }),
  // notepack.io turns a "__proto__" key into a prototype; that key has its own test below
  object: fc.dictionary(fc.string().filter((k) => k !== '__proto__'), tie('node'), { maxKeys: 20, noNullPrototype: true }),
}));
const anyDouble = fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0));
const valueArb = values(anyDouble);
// notepack.io writes integral doubles beyond 2^53 as 64-bit integers and wraps those beyond 2^63.
const notepackArb = values(anyDouble.filter((d) => !Number.isInteger(d) || Math.abs(d) < 2 ** 63));

test('msgpack: round trip, and notepack.io reads what we write and we read what it writes', () => {
  fc.assert(
    fc.property(valueArb.node, (value) => {
      const ours = packValue(value);
      assert.deepStrictEqual(unpackValue(ours), value);
      assert.deepStrictEqual(notepack.decode(ours), value);
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(notepackArb.node, (value) => {
      assert.deepStrictEqual(unpackValue(notepack.encode(value)), value);
    }),
    { numRuns: 1000 },
  );
});

test('msgpack: JSON rules for what it cannot carry; bigint and cycles are refused', () => {
  const fn = () => 1;
  assert.deepStrictEqual(unpackValue(packValue({ a: undefined, b: fn, c: [fn, undefined], d: { toJSON: () => 'j' } })), {
    c: [null, null],
    d: 'j',
  });
  assert.deepStrictEqual(unpackValue(packValue(new Uint16Array([1, 258]))), Buffer.from(new Uint16Array([1, 258]).buffer));
  assert.throws(() => packValue({ n: 10n }), CodecError);
  const circular: Record<string, unknown> = {};
  circular.self = circular;
  assert.throws(() => packValue(circular), CodecError);
});

test('msgpack: a __proto__ key is data, not a prototype', () => {
  const bytes = Buffer.from([0x81, 0xa9, ...Buffer.from('__proto__'), 0x81, 0xa1, 0x78, 0x01]);
  const value = unpackValue(bytes) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepStrictEqual(Object.keys(value), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

test('msgpack: hostile bytes give CodecError, never another exception or a huge allocation', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      try {
        unpackValue(Buffer.from(bytes));
      } catch (err) {
        assert.ok(err instanceof CodecError, String(err));
      }
    }),
    { numRuns: 5000 },
  );
  // array 32 claiming 4 billion items in 5 bytes
  assert.throws(() => unpackValue(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff])), CodecError);
  const deep = Buffer.alloc(MAX_DEPTH + 10, 0x91);
  assert.throws(() => unpackValue(Buffer.concat([deep, Buffer.from([0xc0])])), CodecError);
  // mutations of valid messages
  fc.assert(
    fc.property(valueArb.node, fc.nat(), fc.integer({ min: 0, max: 255 }), (value, at, byte) => {
      const bytes = Buffer.from(packValue(value));
      bytes[at % bytes.length] = byte;
      try {
        unpackValue(bytes);
      } catch (err) {
        assert.ok(err instanceof CodecError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});
