// The browser bundle's Engine.IO framing (native base64) must agree with src/protocol/engineio.ts,
// which it replaces there: same encodings, same decodings, errors only as Error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import * as real from '../../src/protocol/engineio.js';
import * as shim from '../../src/client/engineio-browser.js';
import type { EnginePacket } from '../../src/protocol/engineio.js';

const text = fc.string({ maxLength: 60 }).filter((s) => !s.includes('\x1e'));
const packet: fc.Arbitrary<EnginePacket> = fc.oneof(
  fc.record({ type: fc.constant('message' as const), data: fc.oneof(text, fc.uint8Array({ maxLength: 300 })) }),
  fc.record({ type: fc.constantFrom('open', 'close', 'ping', 'pong', 'upgrade', 'noop'), data: text }),
  fc.constantFrom('open', 'close', 'ping', 'pong', 'upgrade', 'noop').map((type) => ({ type }) as EnginePacket),
);

const normalise = (p: EnginePacket) => ({ type: p.type, data: p.data instanceof Uint8Array ? [...p.data] : p.data });

test('encodePacket / encodePayload: identical output', () => {
  fc.assert(
    fc.property(fc.array(packet, { minLength: 1, maxLength: 6 }), fc.boolean(), (packets, supportsBinary) => {
      for (const p of packets) {
        const a = real.encodePacket(p, supportsBinary as true);
        const b = shim.encodePacket(p, supportsBinary);
        assert.deepEqual(typeof b === 'string' ? b : [...b], typeof a === 'string' ? a : [...a]);
      }
      assert.equal(shim.encodePayload(packets), real.encodePayload(packets));
    }),
  );
});

test('decodePacket / decodePayload: identical results on valid input', () => {
  fc.assert(
    fc.property(fc.array(packet, { minLength: 1, maxLength: 6 }), (packets) => {
      const payload = real.encodePayload(packets);
      assert.deepEqual(shim.decodePayload(payload).map(normalise), real.decodePayload(payload).map(normalise));
      for (const p of packets) {
        const frame = real.encodePacket(p);
        assert.deepEqual(normalise(shim.decodePacket(frame)), normalise(real.decodePacket(frame)));
      }
    }),
  );
  // Large binary (the encoder works in chunks).
  const big = new Uint8Array(100_000).map((_, i) => i * 7);
  const encoded = shim.encodePacket({ type: 'message', data: big }, false);
  assert.equal(encoded, real.encodePacket({ type: 'message', data: big }, false));
  assert.deepEqual(shim.decodePacket(encoded as string).data, big);
});

test('random input: whatever the portable codec accepts, the shim decodes the same; failures are Errors', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('b', 'bAQI=', 'b====', '7', '', '4', '6x')), (input) => {
      let expected: unknown;
      try {
        expected = real.decodePayload(input).map(normalise);
      } catch {
        expected = undefined;
      }
      try {
        const actual = shim.decodePayload(input).map(normalise);
        if (expected !== undefined) assert.deepEqual(actual, expected);
      } catch (err) {
        assert.ok(err instanceof Error, String(err));
        assert.equal(expected, undefined, `shim refused what the codec accepts: ${JSON.stringify(input)}`);
      }
    }),
  );
});

test('parseOpenData: same verdict and fields', () => {
  const value = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }));
  const open = fc.record(
    { sid: value, upgrades: value, pingInterval: value, pingTimeout: value, maxPayload: value },
    { requiredKeys: [] },
  );
  const valid = fc.record({
    sid: fc.string({ minLength: 1 }),
    upgrades: fc.array(fc.constantFrom('websocket', 'webtransport')),
    pingInterval: fc.nat(),
    pingTimeout: fc.nat(),
    maxPayload: fc.nat(),
  });
  fc.assert(
    fc.property(fc.oneof(open, valid), (data) => {
      const json = JSON.stringify(data);
      let expected;
      try {
        expected = real.parseOpenData(json);
      } catch {
        assert.throws(() => shim.parseOpenData(json), Error);
        return;
      }
      const actual = shim.parseOpenData(json);
      for (const key of ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload'] as const) {
        assert.deepEqual(actual[key], expected[key]);
      }
    }),
  );
  for (const bad of ['', 'nope', 'null', '5', '"x"', '{"sid":"a","upgrades":[],"pingInterval":1e999,"pingTimeout":1}']) {
    assert.throws(() => shim.parseOpenData(bad), Error, bad);
  }
});
