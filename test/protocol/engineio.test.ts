import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeBase64,
  decodePacket,
  decodePayload,
  encodeBase64,
  encodeOpenData,
  encodePacket,
  encodePayload,
  EngineDecodeError,
  PACKET_TYPES,
  parseOpenData,
  type EnginePacket,
} from '../../src/protocol/engineio.js';

const bytes = (...values: number[]) => new Uint8Array(values);

test('text packets: type digit then data', () => {
  assert.equal(encodePacket({ type: 'message', data: 'hello' }), '4hello');
  assert.equal(encodePacket({ type: 'ping' }), '2');
  assert.equal(encodePacket({ type: 'pong', data: 'probe' }), '3probe');
  assert.equal(encodePacket({ type: 'noop' }), '6');
  assert.deepEqual(decodePacket('4hello'), { type: 'message', data: 'hello' });
  assert.deepEqual(decodePacket('4'), { type: 'message', data: '' });
  assert.deepEqual(decodePacket('2probe'), { type: 'ping', data: 'probe' });
  assert.deepEqual(decodePacket('5'), { type: 'upgrade' });
  assert.deepEqual(decodePacket('0{"sid":"x"}'), { type: 'open', data: '{"sid":"x"}' });
});

test('binary: raw bytes for WebSocket, b + base64 for polling', () => {
  const data = bytes(1, 2, 3, 4);
  assert.equal(encodePacket({ type: 'message', data }), data, 'WebSocket form is the same bytes, no copy');
  assert.equal(encodePacket({ type: 'message', data }, false), 'bAQIDBA==');
  assert.deepEqual(decodePacket('bAQIDBA=='), { type: 'message', data });
  assert.deepEqual(decodePacket(data), { type: 'message', data });
  assert.deepEqual(decodePacket(data.buffer), { type: 'message', data });
  assert.equal(decodePacket(data).data, data, 'binary frames are not copied');
});

test('payload: records joined by \\x1e (protocol example)', () => {
  const packets: EnginePacket[] = [
    { type: 'message', data: 'hello' },
    { type: 'message', data: bytes(1, 2, 3, 4) },
  ];
  assert.equal(encodePayload(packets), '4hello\x1ebAQIDBA==');
  assert.deepEqual(decodePayload('4hello\x1ebAQIDBA=='), packets);
  assert.deepEqual(decodePayload('2\x1e6\x1e4'), [{ type: 'ping' }, { type: 'noop' }, { type: 'message', data: '' }]);
  assert.equal(encodePayload([]), '');
});

test('decode errors are typed', () => {
  const cases: Array<[string, string]> = [
    ['', 'EMPTY_PACKET'],
    ['7', 'UNKNOWN_PACKET_TYPE'],
    ['x', 'UNKNOWN_PACKET_TYPE'],
    ['b!!!!', 'INVALID_BASE64'],
    ['bA', 'INVALID_BASE64'],
    ['bAQ=', 'INVALID_BASE64'],
    ['bAQ I', 'INVALID_BASE64'],
  ];
  for (const [input, code] of cases) {
    assert.throws(() => decodePacket(input), (e: unknown) => e instanceof EngineDecodeError && e.code === code, input);
  }
  assert.throws(() => decodePayload('4a\x1e\x1e4b'), EngineDecodeError, 'an empty record is an error');
  assert.throws(() => decodePayload('4a\x1e9'), EngineDecodeError);
  assert.throws(
    () => decodePayload('4\x1e4\x1e4', { maxPackets: 2 }),
    (e: unknown) => e instanceof EngineDecodeError && e.code === 'TOO_MANY_PACKETS',
  );
  assert.equal(decodePayload('4\x1e4', { maxPackets: 2 }).length, 2);
});

test('base64 matches the platform encoder, padded or not', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (data) => {
      const expected = Buffer.from(data).toString('base64');
      assert.equal(encodeBase64(data), expected);
      assert.deepEqual(decodeBase64(expected), data);
      assert.deepEqual(decodeBase64(expected.replace(/=+$/, '')), data);
    }),
    { numRuns: 500 },
  );
});

test('open packet data: exactly five fields, validated on parse', () => {
  const open = { sid: 'abc', upgrades: ['websocket'], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 };
  const text = encodeOpenData({ ...open, extra: 1 } as typeof open);
  assert.deepEqual(Object.keys(JSON.parse(text)), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
  assert.deepEqual(parseOpenData(text), open);
  for (const bad of [undefined, '', 'null', '[]', '{"sid":1}', '{"sid":"a","upgrades":"x","pingInterval":1,"pingTimeout":1}']) {
    assert.throws(() => parseOpenData(bad), EngineDecodeError);
  }
  const polluted = parseOpenData('{"sid":"a","upgrades":[],"pingInterval":1,"pingTimeout":2,"__proto__":{"x":1}}');
  assert.equal((polluted as unknown as Record<string, unknown>).x, undefined);
});

// ---- property tests ----

const textData = fc.string({ unit: 'binary', maxLength: 50 }).filter((s) => !s.includes('\x1e'));
const packetArb: fc.Arbitrary<EnginePacket> = fc.oneof(
  fc.record({ type: fc.constant('message' as const), data: fc.oneof(textData, fc.uint8Array({ maxLength: 50 })) }),
  fc.record(
    { type: fc.constantFrom(...PACKET_TYPES.filter((t) => t !== 'message')), data: textData.filter((s) => s !== '') },
    { requiredKeys: ['type'] },
  ) as fc.Arbitrary<EnginePacket>,
).map((packet) => ({ ...packet }) as EnginePacket); // fast-check records have a null prototype

test('property: packet round trip (WebSocket and polling forms)', () => {
  fc.assert(
    fc.property(packetArb, (packet) => {
      assert.deepEqual(decodePacket(encodePacket(packet)), packet);
      assert.deepEqual(decodePacket(encodePacket(packet, false)), packet);
    }),
    { numRuns: 1000 },
  );
});

test('property: payload round trip', () => {
  fc.assert(
    fc.property(fc.array(packetArb, { minLength: 1, maxLength: 20 }), (packets) => {
      assert.deepEqual(decodePayload(encodePayload(packets)), packets);
    }),
    { numRuns: 500 },
  );
});

const expectOnlyTypedErrors = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof EngineDecodeError)) throw error;
  }
};

test('property: random strings only ever throw EngineDecodeError', () => {
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: fc.constantFrom('0', '4', 'b', '\x1e', 'A', '=', '/', '+', '{', '}', '"', '\ud800'), maxLength: 100 }),
  );
  fc.assert(
    fc.property(hostile, (input) => {
      expectOnlyTypedErrors(() => decodePacket(input));
      expectOnlyTypedErrors(() => decodePayload(input, { maxPackets: 16 }));
      expectOnlyTypedErrors(() => parseOpenData(input));
    }),
    { numRuns: 3000 },
  );
});

test('property: random bytes decode as a binary message', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
      assert.deepEqual(decodePacket(data), { type: 'message', data });
    }),
  );
});

test('a large payload decodes in linear time', () => {
  const big = encodePayload(Array.from({ length: 20000 }, (_, i) => ({ type: 'message' as const, data: `m${i}` })));
  assert.equal(decodePayload(big).length, 20000);
  const blob = 'b' + 'A'.repeat(4 * 250_000);
  assert.equal((decodePacket(blob).data as Uint8Array).length, 750_000);
});
