// The browser bundle's Socket.IO codec (src/client/default-codec.browser.ts) must agree with the
// portable one it replaces there. Decoder: the same packets from the same chunks, a
// SocketIODecodeError where the portable one throws (its code may differ), nothing else thrown.
// Encoder: the same parts for the same packet, the same SocketIOEncodeError code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { defaultCodec, encodePacketAsync as browserEncodeAsync } from '../../src/client/default-codec.browser.js';
import {
  Decoder,
  encodePacket,
  encodePacketAsync,
  SocketIODecodeError,
  SocketIOEncodeError,
  type DecoderOptions,
  type Packet,
} from '../../src/protocol/socketio.js';

type Outcome = { packet: unknown } | { error: true };

const feed = (add: (chunk: string | Uint8Array) => unknown, chunk: string | Uint8Array): Outcome => {
  try {
    return { packet: add(chunk) };
  } catch (err) {
    assert.ok(err instanceof SocketIODecodeError, `not a SocketIODecodeError: ${err}`);
    return { error: true };
  }
};

/** Feeds the same chunks to both decoders, comparing every step. */
function agree(chunks: (string | Uint8Array)[], options: DecoderOptions = {}): void {
  const portable = new Decoder(options);
  const browser = defaultCodec(options).createDecoder();
  for (const chunk of chunks) {
    const expected = feed((c) => portable.add(c), chunk);
    assert.deepStrictEqual(feed((c) => browser.add(c), chunk), expected, JSON.stringify(String(chunk)));
  }
}

// Text packets close to the grammar (type, attachments, namespace, ack id, JSON), each part
// sometimes missing, too long or malformed, so that both sides of every rule are reached.
const digits = (max: number) => fc.stringMatching(new RegExp(`^[0-9]{1,${max}}$`));
const textPacket = fc
  .tuple(
    fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '9', 'x', ''),
    fc.option(fc.tuple(fc.oneof(digits(8), fc.constant('')), fc.constantFrom('-', '', '+')).map(([n, dash]) => n + dash)),
    fc.option(fc.tuple(fc.constantFrom('/', '/chat', '/a/b', '/ü é', 'chat'), fc.constantFrom(',', '', ',,')).map(([n, comma]) => n + comma)),
    fc.option(digits(17)),
    fc.option(
      fc.oneof(
        fc.json({ maxDepth: 4 }),
        fc.tuple(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('connect', 'disconnect', '__proto__'), fc.integer()), fc.jsonValue({ maxDepth: 3 })).map((args) => JSON.stringify(args)),
        fc.nat(4).map((num) => JSON.stringify(['ev', { _placeholder: true, num }, 'x'])),
        fc.constantFrom('{"sid":"a"}', '"refused"', '{"message":"no","data":1}', '[', '[[[[[[]]]]]]', ' ["a"]', '-1', '[]'),
      ),
    ),
  )
  .map((parts) => parts.map((part) => part ?? '').join(''));
const chunk = fc.oneof(textPacket, fc.string({ maxLength: 30 }), fc.uint8Array({ maxLength: 4 }));

test('any sequence of chunks: the same packets, errors at the same steps', () => {
  fc.assert(fc.property(fc.array(chunk, { minLength: 1, maxLength: 6 }), (chunks) => agree(chunks)), { numRuns: 2000 });
});

test('the same limits: maxAttachments and maxDepth', () => {
  fc.assert(
    fc.property(fc.array(chunk, { minLength: 1, maxLength: 4 }), fc.nat(3), fc.integer({ min: 1, max: 4 }), (chunks, maxAttachments, maxDepth) =>
      agree(chunks, { maxAttachments, maxDepth }),
    ),
    { numRuns: 1000 },
  );
});

test('encoded packets round-trip the same, binary attachments included', () => {
  const data = fc.array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.uint8Array({ maxLength: 3 })), { maxLength: 4 });
  const packet = fc.record({
    type: fc.constantFrom(2, 3),
    nsp: fc.constantFrom('/', '/chat'),
    id: fc.option(fc.nat(), { nil: undefined }),
    data: fc.tuple(fc.string({ maxLength: 5 }).filter((s) => !['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].includes(s)), data).map(([event, rest]) => [event, ...rest]),
  });
  fc.assert(
    fc.property(fc.array(packet, { minLength: 1, maxLength: 3 }), (packets) => {
      agree(packets.flatMap((p) => encodePacket({ ...p, id: p.type === 3 ? (p.id ?? 1) : p.id })));
    }),
  );
});

test('fixed cases: binary packets across chunks, stray text and bytes, placeholders out of range', () => {
  const bytes = new Uint8Array([1, 2]);
  agree(['52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]', bytes, bytes, '2["b"]']);
  agree(['51-["a",{"_placeholder":true,"num":0}]', '2["b"]', '2["c"]']);
  agree([bytes, '51-["a",{"_placeholder":true,"num":3}]', bytes, '50-["a"]', '50-["a",{"_placeholder":true,"num":0}]']);
  agree(['5-["a"]', '51234567-["a"]', '2/chat,1["a"]', '2,["a"]', '212-["a"]', '3["a"]', '21234567890123456["a"]', '0/a', '4"x"', '1']);
  agree(['511-' + JSON.stringify(['a']), '2["connect"]', '2[1]', '2{"__proto__":{"x":1}}', '2["a",{"__proto__":{"x":1}}]']);
});

const encoded = (encode: () => unknown) => {
  try {
    return { parts: encode() };
  } catch (err) {
    assert.ok(err instanceof SocketIOEncodeError, `not a SocketIOEncodeError: ${err}`);
    return { code: err.code };
  }
};
const encodeAgree = (packet: Packet) =>
  assert.deepStrictEqual(encoded(() => defaultCodec({}).encode(packet)), encoded(() => encodePacket(packet)));

// Values as applications emit them: JSON, bytes in every binary form, toJSON (Date, custom), undefined.
const bytes = fc.uint8Array({ maxLength: 4 });
const leaf = fc.oneof(
  fc.jsonValue({ maxDepth: 1 }),
  bytes,
  bytes.map((b) => b.buffer),
  bytes.map((b) => new DataView(b.buffer, b.length ? 1 : 0)),
  bytes.map((b) => new Uint16Array(b.length >> 1)),
  fc.date({ noInvalidDate: true }),
  fc.constant(undefined),
  fc.oneof(bytes, fc.string({ maxLength: 3 })).map((inner) => ({ toJSON: () => [inner] })),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    // (an own "__proto__" key cannot be copied into a fresh object by assignment: left out)
    fc.dictionary(fc.string({ maxLength: 3 }).filter((k) => k !== '__proto__'), tie('value'), { maxKeys: 4 }),
  ),
}));
const anyPacket = fc.record(
  { type: fc.integer({ min: 0, max: 6 }), nsp: fc.constantFrom('/', '/chat', ''), id: fc.nat(), data: value },
  { requiredKeys: ['type', 'nsp'] },
) as fc.Arbitrary<Packet>;

test('encoding: the same parts as encodePacket for any packet, binary anywhere in the data', () => {
  fc.assert(fc.property(anyPacket, encodeAgree), { numRuns: 3000 });
});

test('encoding, fixed cases: holes, a toJSON returning its object, cycles, Blobs (sync: BLOB; async: read)', async () => {
  const self = { a: 1, toJSON() { return this; } };
  const cyclic: any = { a: [new Uint8Array(1)] };
  cyclic.a.push(cyclic);
  for (const data of [[, new Uint8Array(2), , 'x'], [self], [self, new Uint8Array(1)], cyclic, [new Blob(['ab'])]]) {
    for (const type of [2, 3, 5, 6]) encodeAgree({ type, nsp: '/', id: 1, data });
  }
  const packet = { type: 2, nsp: '/', data: ['file', new Blob([new Uint8Array([1, 2])]), { more: new Blob(['c']) }] };
  assert.deepStrictEqual(await browserEncodeAsync(packet), await encodePacketAsync(packet));
});
