import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Decoder,
  PacketType,
  SocketIODecodeError,
  SocketIOEncodeError,
  checkPacket,
  decodeText,
  encodePacket,
  encodePacketAsync,
  hasBinary,
  jsonDepthExceeds,
  safeJsonParse,
  type Packet,
} from '../../src/protocol/socketio.js';

function decodeAll(parts: (string | Uint8Array)[], decoder = new Decoder()): Packet {
  let out: Packet | null = null;
  parts.forEach((part, i) => {
    out = decoder.add(part);
    if (i < parts.length - 1) assert.equal(out, null);
  });
  assert.ok(out);
  return out;
}

test('encodes the examples of the protocol document', () => {
  assert.deepEqual(encodePacket({ type: PacketType.CONNECT, nsp: '/' }), ['0']);
  assert.deepEqual(encodePacket({ type: PacketType.CONNECT, nsp: '/admin', data: { token: '123' } }), ['0/admin,{"token":"123"}']);
  assert.deepEqual(encodePacket({ type: PacketType.DISCONNECT, nsp: '/admin' }), ['1/admin,']);
  assert.deepEqual(encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['foo'] }), ['2["foo"]']);
  assert.deepEqual(encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['foo'], id: 12 }), ['212["foo"]']);
  assert.deepEqual(encodePacket({ type: PacketType.ACK, nsp: '/admin', data: ['bar'], id: 13 }), ['3/admin,13["bar"]']);
  assert.deepEqual(encodePacket({ type: PacketType.CONNECT_ERROR, nsp: '/', data: { message: 'Not authorized' } }), [
    '4{"message":"Not authorized"}',
  ]);
  const bin = new Uint8Array([1, 2, 3]);
  assert.deepEqual(encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['baz', bin] }), [
    '51-["baz",{"_placeholder":true,"num":0}]',
    bin,
  ]);
  assert.deepEqual(encodePacket({ type: PacketType.ACK, nsp: '/', id: 15, data: ['bar', bin] }), [
    '61-15["bar",{"_placeholder":true,"num":0}]',
    bin,
  ]);
});

test('decodes the examples, namespace up to comma or end', () => {
  assert.deepEqual(decodeText('0'), { type: 0, nsp: '/' });
  assert.deepEqual(decodeText('0/admin,{"token":"123"}'), { type: 0, nsp: '/admin', data: { token: '123' } });
  assert.deepEqual(decodeText('0/custom'), { type: 0, nsp: '/custom' });
  assert.deepEqual(decodeText('1/admin,'), { type: 1, nsp: '/admin' });
  assert.deepEqual(decodeText('3/admin,13["bar"]'), { type: 3, nsp: '/admin', id: 13, data: ['bar'] });
  assert.deepEqual(decodeText('2[1,2]'), { type: 2, nsp: '/', data: [1, 2] });
  assert.deepEqual(decodeText('4"legacy"'), { type: 4, nsp: '/', data: 'legacy' });
});

test('binary attachments anywhere: Buffer, ArrayBuffer, typed arrays, DataView, nested', () => {
  const buf = Buffer.from('buffer');
  const ab = new Uint8Array([9, 8, 7]).buffer;
  const f32 = new Float32Array([1.5, 2.5]);
  const dv = new DataView(new Uint8Array([4, 5, 6, 7]).buffer, 1, 2);
  const data = ['ev', { a: [buf, { deep: ab }], f32 }, dv, 'text', null];
  const original = structuredClone(data.slice(3));
  const [text, ...attachments] = encodePacket({ type: PacketType.EVENT, nsp: '/chat', id: 7, data });
  assert.equal(
    text,
    '54-/chat,7["ev",{"a":[{"_placeholder":true,"num":0},{"deep":{"_placeholder":true,"num":1}}],"f32":{"_placeholder":true,"num":2}},{"_placeholder":true,"num":3},"text",null]',
  );
  assert.equal(attachments.length, 4);
  assert.deepEqual([...attachments[1]!], [9, 8, 7]);
  assert.deepEqual([...attachments[3]!], [5, 6]);
  assert.deepEqual(data.slice(3), original, 'input untouched');
  const packet = decodeAll([text, ...attachments]);
  assert.equal(packet.type, PacketType.BINARY_EVENT);
  assert.equal(packet.nsp, '/chat');
  assert.equal(packet.id, 7);
  const out = packet.data as [string, { a: [Uint8Array, { deep: Uint8Array }] }];
  assert.equal(Buffer.from(out[1].a[0]).toString(), 'buffer');
  assert.equal(out[1].a[1].deep, attachments[1]);
});

test('an EVENT/ACK flagged binary without binary data is encoded as plain', () => {
  assert.deepEqual(encodePacket({ type: PacketType.BINARY_EVENT, nsp: '/', data: ['a'] }), ['2["a"]']);
  assert.deepEqual(encodePacket({ type: PacketType.BINARY_ACK, nsp: '/', id: 1, data: [] }), ['31[]']);
});

test('toJSON is honoured, Dates left to JSON', () => {
  const d = new Date(0);
  assert.deepEqual(encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['d', d] }), ['2["d","1970-01-01T00:00:00.000Z"]']);
  const withBin = { toJSON: () => ({ b: new Uint8Array([1]) }) };
  assert.equal(hasBinary(withBin), true);
  const [text, bin] = encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['x', withBin] });
  assert.equal(text, '51-["x",{"b":{"_placeholder":true,"num":0}}]');
  assert.deepEqual([...bin!], [1]);
});

test('Blob: sync encode refuses, async encode reads it', async () => {
  const blob = new Blob([new Uint8Array([1, 2])]);
  assert.throws(() => encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['b', blob] }), SocketIOEncodeError);
  const [text, bin] = await encodePacketAsync({ type: PacketType.EVENT, nsp: '/', data: ['b', { x: blob }] });
  assert.equal(text, '51-["b",{"x":{"_placeholder":true,"num":0}}]');
  assert.deepEqual([...bin!], [1, 2]);
  // Beside a Blob, values that serialise themselves keep their JSON form; without one, the result is the sync one.
  const at = new Date(0);
  const [withDate] = await encodePacketAsync({ type: PacketType.EVENT, nsp: '/', data: ['b', { x: blob, at }] });
  assert.equal(withDate, '51-["b",{"x":{"_placeholder":true,"num":0},"at":"1970-01-01T00:00:00.000Z"}]');
  const plain = { type: PacketType.EVENT, nsp: '/', id: 3, data: ['b', { at, n: 1 }] };
  assert.deepEqual(await encodePacketAsync(plain), encodePacket(plain));
  // Blobs and other binary values keep their depth-first order, also inside a toJSON result.
  const mixed = ['m', blob, new Uint8Array([3]), { toJSON: () => ({ y: new Blob([new Uint8Array([4])]) }) }];
  const [mixedText, ...parts] = await encodePacketAsync({ type: PacketType.EVENT, nsp: '/', data: mixed });
  assert.equal(mixedText, '53-["m",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"y":{"_placeholder":true,"num":2}}]');
  assert.deepEqual(parts.map((part) => [...part]), [[1, 2], [3], [4]]);
  const cyclic: unknown[] = [blob];
  cyclic.push(cyclic);
  await assert.rejects(encodePacketAsync({ type: PacketType.EVENT, nsp: '/', data: ['c', cyclic] }), { code: 'TOO_DEEP' });
});

test('binary packet with zero attachments completes at once', () => {
  assert.deepEqual(new Decoder().add('50-["a"]'), { type: 5, nsp: '/', attachments: 0, data: ['a'] });
});

test('rejects malformed packets with typed errors', () => {
  const bad: [string, string][] = [
    ['', 'INVALID_TYPE'],
    ['7', 'INVALID_TYPE'],
    ['a', 'INVALID_TYPE'],
    ['2', 'INVALID_PAYLOAD'],
    ['2[]', 'INVALID_PAYLOAD'],
    ['2{}', 'INVALID_PAYLOAD'],
    ['2["connect"]', 'INVALID_PAYLOAD'],
    ['2["disconnecting"]', 'INVALID_PAYLOAD'],
    ['2[null]', 'INVALID_PAYLOAD'],
    ['2abc["x"]', 'INVALID_JSON'],
    ['2["x"', 'INVALID_JSON'],
    ['1{}', 'INVALID_PAYLOAD'],
    ['0[]', 'INVALID_PAYLOAD'],
    ['0null', 'INVALID_PAYLOAD'],
    ['3["x"]', 'INVALID_ACK_ID'],
    ['012', 'INVALID_ACK_ID'],
    ['21234567890123456["x"]', 'INVALID_ACK_ID'],
    ['5["x"]', 'INVALID_ATTACHMENTS'],
    ['5a-["x"]', 'INVALID_ATTACHMENTS'],
    ['511-["x"]', 'TOO_MANY_ATTACHMENTS'],
    ['599999999999-["x"]', 'INVALID_ATTACHMENTS'],
    ['4', 'INVALID_PAYLOAD'],
    ['4[1]', 'INVALID_PAYLOAD'],
  ];
  for (const [input, code] of bad) {
    assert.throws(
      () => new Decoder().add(input),
      (err: unknown) => err instanceof SocketIODecodeError && err.code === code,
      `${JSON.stringify(input)} -> ${code}`,
    );
  }
});

test('maxAttachments is an option', () => {
  assert.throws(() => new Decoder({ maxAttachments: 1 }).add('52-["a"]'), { code: 'TOO_MANY_ATTACHMENTS' });
  assert.equal(new Decoder({ maxAttachments: 20 }).add('520-["a"]'), null);
});

test('attachment sequencing errors', () => {
  const d = new Decoder();
  assert.throws(() => d.add(new Uint8Array([1])), { code: 'UNEXPECTED_BINARY' });
  assert.equal(d.add('51-["a",{"_placeholder":true,"num":0}]'), null);
  assert.equal(d.waiting, true);
  assert.throws(() => d.add('2["b"]'), { code: 'UNEXPECTED_TEXT' });
  assert.equal(d.waiting, false);
  assert.equal(d.add('51-["a",{"_placeholder":true,"num":3}]'), null);
  assert.throws(() => d.add(new Uint8Array([1])), { code: 'INVALID_PLACEHOLDER' });
  assert.equal(d.add('51-["a",{"_placeholder":true,"num":"0"}]'), null);
  assert.throws(() => d.add(new Uint8Array([1])), { code: 'INVALID_PLACEHOLDER' });
  // after errors the decoder works again
  assert.deepEqual(d.add('2["ok"]'), { type: 2, nsp: '/', data: ['ok'] });
});

test('JSON decoding never pollutes prototypes', () => {
  const p = decodeText('2["x",{"__proto__":{"polluted":true},"a":{"constructor":{"prototype":{"polluted":true}}},"b":{"constructor":"ok"}}]');
  const obj = (p.data as unknown[])[1] as Record<string, unknown>;
  assert.equal(Object.prototype.hasOwnProperty.call(obj, '__proto__'), false);
  assert.deepEqual(Object.keys(obj), ['a', 'b']);
  assert.deepEqual(obj.a, {});
  assert.deepEqual(obj.b, { constructor: 'ok' });
  const merged = Object.assign({}, obj, (p.data as unknown[])[1]);
  assert.equal((merged as Record<string, unknown>).polluted, undefined);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.deepEqual(safeJsonParse('{"__proto__":1,"k":2}'), { k: 2 });
});

// --- properties -------------------------------------------------------------------------------

/** Keys the decoder drops on purpose (the pollution test above): a round trip cannot keep them. */
function hasDroppedKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasDroppedKey);
  if (v === null || typeof v !== 'object') return false;
  return Object.entries(v).some(
    ([k, x]) =>
      k === '__proto__' ||
      (k === 'constructor' && x !== null && typeof x === 'object' && Object.prototype.hasOwnProperty.call(x, 'prototype')) ||
      hasDroppedKey(x),
  );
}
/** JSON values a round trip must keep exactly. */
const roundTripJson = (constraints: fc.JsonSharedConstraints = {}) => fc.jsonValue(constraints).filter((v) => !hasDroppedKey(v));
const jsonValue = roundTripJson({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const binary = fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b) as Uint8Array);
const valueWithBinary: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small' }, jsonValue, binary, fc.array(tie('value'), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 5 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 3 })),
})).value;
const nsp = fc.oneof(fc.constant('/'), fc.string({ maxLength: 10 }).map((s) => '/' + s.replace(/,/g, '')));
const eventName = fc.oneof(
  fc.string({ maxLength: 10 }).filter((s) => !['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].includes(s)),
  fc.integer(),
);

/** Our decoder hands back the exact attachment objects; compare binaries by content. */
function normalize(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bin: [...v] };
  if (Array.isArray(v)) return v.map(normalize);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]));
  return v;
}

test('property: events and acks round trip, including binary', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(PacketType.EVENT, PacketType.ACK),
      nsp,
      fc.option(fc.nat(), { nil: undefined }),
      eventName,
      fc.array(valueWithBinary, { maxLength: 4 }),
      (type, ns, id, name, args) => {
        const data = type === PacketType.EVENT ? [name, ...args] : args;
        const ackId = type === PacketType.ACK ? (id ?? 0) : id;
        const parts = encodePacket({ type, nsp: ns, id: ackId, data });
        fc.pre(parts.length - 1 <= 10);
        const packet = decodeAll(parts);
        assert.equal(packet.nsp, ns);
        assert.equal(packet.id, ackId);
        assert.deepEqual(normalize(packet.data), normalize(JSON.parse(JSON.stringify(data, (_k, v) => (v instanceof Uint8Array || (v && v.type === 'Buffer') ? { bin: [...(v.data ?? v)] } : v)))));
      },
    ),
    { numRuns: 300 },
  );
});

test('property: CONNECT / CONNECT_ERROR / DISCONNECT round trip', () => {
  fc.assert(
    fc.property(nsp, fc.dictionary(fc.string({ maxLength: 5 }).filter((k) => k !== '__proto__'), jsonValue, { maxKeys: 4 }), (ns, rawAuth) => {
      const auth = JSON.parse(JSON.stringify(rawAuth)) as Record<string, unknown>;
      assert.deepEqual(decodeText(encodePacket({ type: PacketType.CONNECT, nsp: ns, data: auth })[0]), { type: 0, nsp: ns, data: auth });
      assert.deepEqual(decodeText(encodePacket({ type: PacketType.CONNECT_ERROR, nsp: ns, data: { message: 'm', data: auth } })[0]), {
        type: 4,
        nsp: ns,
        data: { message: 'm', data: auth },
      });
      assert.deepEqual(decodeText(encodePacket({ type: PacketType.DISCONNECT, nsp: ns })[0]), { type: 1, nsp: ns });
    }),
    { numRuns: 200 },
  );
});

function onlyTypedErrors(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof SocketIODecodeError)) throw err;
  }
}

test('property: random strings only ever throw SocketIODecodeError', () => {
  const packetish = fc
    .tuple(fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', 'x', ''), fc.string({ maxLength: 3, unit: fc.constantFrom('1', '-', '/', ',', '0', 'a') }), fc.oneof(fc.string(), fc.json()))
    .map(([a, b, c]) => a + b + c);
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), packetish, fc.uint8Array({ maxLength: 8 })), { maxLength: 6 }), (chunks) => {
      const d = new Decoder();
      for (const c of chunks) onlyTypedErrors(() => d.add(c));
    }),
    { numRuns: 2000 },
  );
});

test('property: random placeholders and attachments never escape the typed error', () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 4 }),
      fc.array(fc.record({ _placeholder: fc.oneof(fc.constant(true), fc.boolean()), num: fc.oneof(fc.integer({ min: -2, max: 6 }), fc.string(), fc.double()) }), { maxLength: 4 }),
      fc.array(fc.uint8Array({ maxLength: 4 }), { maxLength: 5 }),
      (n, placeholders, chunks) => {
        const d = new Decoder();
        onlyTypedErrors(() => d.add(`5${n}-${JSON.stringify(['e', ...placeholders])}`));
        for (const c of chunks) onlyTypedErrors(() => d.add(c));
      },
    ),
    { numRuns: 1000 },
  );
});

test('nesting is bounded on the text: 100,000 levels are refused before anything is built', () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
  const d = new Decoder();
  assert.throws(() => d.add(`212["e",${deep(100_000)}]`), { name: 'SocketIODecodeError', code: 'TOO_DEEP' });
  assert.throws(() => d.add(`51-["e",${deep(5000)}]`), { code: 'TOO_DEEP' });
  assert.equal(d.waiting, false, 'nothing pending after the refusal');
  // The packet's own array is level 1: 99 more levels pass by default, 100 do not.
  assert.deepEqual(d.add(`2["e",${deep(99)}]`)?.type, PacketType.EVENT);
  assert.throws(() => d.add(`2["e",${deep(100)}]`), { code: 'TOO_DEEP' });
  assert.throws(() => new Decoder({ maxDepth: 3 }).add('0{"a":{"b":{"c":{}}}}'), { code: 'TOO_DEEP' });
  assert.deepEqual(new Decoder({ maxDepth: 3 }).add('0{"a":{"b":{}}}')?.data, { a: { b: {} } });
  // Brackets inside strings (escaped quotes too) are text, not nesting.
  const text = `2["e","${'['.repeat(500)}\\"${'{'.repeat(500)}"]`;
  assert.equal(new Decoder({ maxDepth: 2 }).add(text)?.type, PacketType.EVENT);
});

test('jsonDepthExceeds agrees with the real depth of any JSON value', () => {
  const depthOf = (v: unknown): number =>
    v === null || typeof v !== 'object' ? 0 : 1 + Math.max(0, ...Object.values(v as object).map(depthOf));
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 8 }), fc.nat({ max: 10 }), (value, max) => {
      const text = JSON.stringify(value);
      assert.equal(jsonDepthExceeds(' ' + text, 1, max), depthOf(value) > max);
    }),
    { numRuns: 500 },
  );
});

test('encoding data nested deeper than 1000 levels (a cycle) throws a typed error, never a RangeError', () => {
  let deep: unknown = new Uint8Array([1]);
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.throws(() => encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['e', deep] }), { name: 'SocketIOEncodeError', code: 'TOO_DEEP' });
  const cycle: unknown[] = [new Uint8Array([2])];
  cycle.push(cycle);
  assert.throws(() => encodePacket({ type: PacketType.EVENT, nsp: '/', data: ['e', cycle] }), { code: 'TOO_DEEP' });
  assert.throws(() => hasBinary(deep), { code: 'TOO_DEEP' });
});

test('checkPacket bounds the depth of values another parser built, without recursion', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.throws(() => checkPacket({ type: 2, nsp: '/', data: ['e', deep] }), { code: 'TOO_DEEP' });
  assert.throws(() => checkPacket({ type: 2, nsp: '/', data: ['e', { a: [{}] }] }, 3), { code: 'TOO_DEEP' });
  assert.deepEqual(checkPacket({ type: 2, nsp: '/', data: ['e', { a: [] }] }, 3).data, ['e', { a: [] }]);
  // Binary values are leaves, whatever their own structure.
  assert.equal(checkPacket({ type: 2, nsp: '/', data: ['e', Buffer.alloc(4)] }, 1).type, 2);
});

test('property: checkPacket on any value returns a protocol packet or throws a typed error, and agrees with decodeText', () => {
  const anyValue = fc.oneof(
    fc.anything(),
    fc.record(
      {
        type: fc.oneof(fc.integer({ min: -1, max: 8 }), fc.double(), fc.string()),
        nsp: fc.oneof(fc.constant('/'), fc.constant('/admin'), fc.string(), fc.integer()),
        id: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.constant(null), fc.string()),
        data: fc.oneof(roundTripJson(), fc.array(roundTripJson()), fc.tuple(fc.constantFrom('ev', 'disconnect', 'connect'), roundTripJson())),
      },
      { requiredKeys: ['type'] },
    ),
  );
  fc.assert(
    fc.property(anyValue, (value) => {
      let packet: Packet;
      try {
        packet = checkPacket(value);
      } catch (err) {
        assert.ok(err instanceof SocketIODecodeError, String(err));
        return;
      }
      // What passes is exactly what our own decoder would accept from the same packet as text.
      fc.pre(!hasDroppedKey(packet.data));
      const [text] = encodePacket(packet);
      const again = decodeText(text, Infinity);
      // Without binary data a BINARY_* type is written as its plain twin.
      const plainType = packet.type === PacketType.BINARY_EVENT ? PacketType.EVENT : packet.type === PacketType.BINARY_ACK ? PacketType.ACK : packet.type;
      assert.deepEqual(again, { ...packet, type: plainType });
    }),
  );
});
