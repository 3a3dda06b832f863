import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EngineDecodeError, PACKET_TYPES, type EnginePacket } from '../../src/protocol/engineio.js';
import {
  decodeBinaryPayloadV3,
  decodePacketV3,
  decodePayloadV3,
  encodeBinaryPayloadV3,
  encodePacketV3,
  encodePayloadV3,
} from '../../src/protocol/engineio-v3.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const isDecodeError = (code?: string) => (e: unknown) => e instanceof EngineDecodeError && (code === undefined || e.code === code);

test('v3 packets: text as v4, binary with a type byte (WebSocket) or b4 + base64 (text)', () => {
  assert.equal(encodePacketV3({ type: 'message', data: 'hello' }, true), '4hello');
  assert.equal(encodePacketV3({ type: 'ping', data: 'probe' }, true), '2probe');
  assert.equal(encodePacketV3({ type: 'pong' }, false), '3');
  assert.deepEqual(encodePacketV3({ type: 'message', data: bytes(1, 2, 3) }, true), bytes(4, 1, 2, 3));
  assert.equal(encodePacketV3({ type: 'message', data: bytes(1, 2, 3) }, false), 'b4AQID');
  assert.deepEqual(decodePacketV3(bytes(4, 1, 2, 3)), { type: 'message', data: bytes(1, 2, 3) });
  assert.deepEqual(decodePacketV3('b4AQID'), { type: 'message', data: bytes(1, 2, 3) });
  assert.deepEqual(decodePacketV3('2probe'), { type: 'ping', data: 'probe' });
  assert.deepEqual(decodePacketV3('1'), { type: 'close' });
});

test('v3 text payload: <length>:<packet>, lengths in UTF-16 code units (protocol v3 examples)', () => {
  assert.equal(encodePayloadV3([{ type: 'message', data: 'hello' }, { type: 'message', data: '0' }]), '6:4hello2:40');
  assert.equal(encodePayloadV3([]), '0:');
  assert.equal(encodePayloadV3([{ type: 'message', data: bytes(1, 2) }]), '6:b4AQI=');
  assert.equal(encodePayloadV3([{ type: 'message', data: 'é😀' }]), '4:4é😀');
  assert.deepEqual(decodePayloadV3('4:4é😀1:2'), [{ type: 'message', data: 'é😀' }, { type: 'ping' }]);
  assert.deepEqual(decodePayloadV3('0:'), []);
  assert.deepEqual(decodePayloadV3('6:b4AQI=1:6'), [{ type: 'message', data: bytes(1, 2) }, { type: 'noop' }]);
});

test('v3 binary payload: flag, length digits as bytes, 255, packet', () => {
  const body = encodeBinaryPayloadV3([{ type: 'message', data: 'hé' }, { type: 'message', data: bytes(9, 8) }]);
  // "4hé" is 4 UTF-8 bytes; the binary record is the type byte plus 2 data bytes.
  assert.deepEqual(body, bytes(0, 4, 255, 52, 104, 0xc3, 0xa9, 1, 3, 255, 4, 9, 8));
  assert.deepEqual(decodeBinaryPayloadV3(body), [{ type: 'message', data: 'hé' }, { type: 'message', data: bytes(9, 8) }]);
  assert.deepEqual(decodeBinaryPayloadV3(bytes(0, 1, 0, 255, ...Array(10).fill(52))), [{ type: 'message', data: '444444444' }]);
});

test('v3 decode errors are typed', () => {
  const text: Array<[string, string]> = [
    ['', 'EMPTY_PACKET'],
    ['5', 'INVALID_LENGTH'],
    [':4a', 'INVALID_LENGTH'],
    ['2:4', 'INVALID_LENGTH'],
    ['1x:4', 'INVALID_LENGTH'],
    ['99999999999999999999:4', 'INVALID_LENGTH'],
    ['1:7', 'UNKNOWN_PACKET_TYPE'],
    ['2:b2', 'UNKNOWN_PACKET_TYPE'],
    ['1:b', 'UNKNOWN_PACKET_TYPE'],
    ['4:b4A!', 'INVALID_BASE64'],
    ['1:41:', 'INVALID_LENGTH'],
  ];
  for (const [input, code] of text) assert.throws(() => decodePayloadV3(input), isDecodeError(code), JSON.stringify(input));
  const binary: Array<[Uint8Array, string]> = [
    [bytes(), 'EMPTY_PACKET'],
    [bytes(2, 1, 255, 52), 'INVALID_LENGTH'],
    [bytes(0, 255, 52), 'INVALID_LENGTH'],
    [bytes(0, 10, 255, 52), 'INVALID_LENGTH'],
    [bytes(0, 5, 255, 52), 'INVALID_LENGTH'],
    [bytes(0, 1), 'INVALID_LENGTH'],
    [bytes(1, 0, 255), 'EMPTY_PACKET'],
    [bytes(1, 2, 255, 2, 0), 'UNKNOWN_PACKET_TYPE'],
    [bytes(0, 2, 255, 52, 0xff), 'UNKNOWN_PACKET_TYPE'],
  ];
  for (const [input, code] of binary) assert.throws(() => decodeBinaryPayloadV3(input), isDecodeError(code), String(input));
  assert.throws(() => decodePayloadV3('1:41:41:4', { maxPackets: 2 }), isDecodeError('TOO_MANY_PACKETS'));
  assert.throws(() => decodePacketV3(bytes(2, 1)), isDecodeError('UNKNOWN_PACKET_TYPE'));
  assert.throws(() => decodePacketV3(bytes()), isDecodeError('EMPTY_PACKET'));
});

const packetArb: fc.Arbitrary<EnginePacket> = fc.oneof(
  fc.record({ type: fc.constant('message' as const), data: fc.oneof(fc.string({ unit: 'grapheme' }), fc.uint8Array({ maxLength: 64 })) }),
  fc.record({ type: fc.constantFrom(...PACKET_TYPES.filter((t) => t !== 'message')), data: fc.option(fc.string({ minLength: 1 }), { nil: undefined }) })
    .map(({ type, data }) => (data === undefined ? { type } : { type, data }) as EnginePacket),
);
const normalize = (packets: EnginePacket[]) =>
  packets.map((p) => (p.data === undefined ? { type: p.type } : { type: p.type, data: p.data instanceof Uint8Array ? [...p.data] : p.data }));

test('v3 round trips: packets, text payloads, binary payloads', () => {
  fc.assert(
    fc.property(fc.array(packetArb, { maxLength: 8 }), (packets) => {
      assert.deepEqual(normalize(decodePayloadV3(encodePayloadV3(packets))), normalize(packets));
      if (packets.length > 0) assert.deepEqual(normalize(decodeBinaryPayloadV3(encodeBinaryPayloadV3(packets))), normalize(packets));
      for (const packet of packets) {
        assert.deepEqual(normalize([decodePacketV3(encodePacketV3(packet, true))]), normalize([packet]));
        assert.deepEqual(normalize([decodePacketV3(encodePacketV3(packet, false))]), normalize([packet]));
      }
    }),
    { numRuns: 300 },
  );
});

test('v3 hostile input: only EngineDecodeError, never another throw', () => {
  const onlyDecodeErrors = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof EngineDecodeError, String(e));
    }
  };
  const lengthy = fc.array(fc.oneof(fc.constantFrom('0', '1', '9', ':', 'b', '4', 'b4', '\x1e', '😀'), fc.string({ maxLength: 4 })), { maxLength: 30 }).map((p) => p.join(''));
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), lengthy), (text) => {
      onlyDecodeErrors(() => decodePayloadV3(text));
      onlyDecodeErrors(() => decodePacketV3(text));
    }),
    { numRuns: 2000 },
  );
  const framed = fc.array(fc.oneof(fc.constantFrom(0, 1, 4, 9, 255), fc.integer({ min: 0, max: 255 })), { maxLength: 200 }).map((a) => new Uint8Array(a));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), framed), (data) => {
      onlyDecodeErrors(() => decodeBinaryPayloadV3(data));
      onlyDecodeErrors(() => decodePacketV3(data));
    }),
    { numRuns: 2000 },
  );
});

test('v3 decoding is linear: a 1 MB payload of tiny records and one huge length', () => {
  const many = '1:6'.repeat(300_000);
  assert.equal(decodePayloadV3(many).length, 300_000);
  assert.throws(() => decodePayloadV3('9'.repeat(1_000_000)), isDecodeError('INVALID_LENGTH'));
  const manyBinary = new Uint8Array(400_000);
  for (let i = 0; i < manyBinary.length; i += 4) manyBinary.set([1, 1, 255, 4], i);
  assert.equal(decodeBinaryPayloadV3(manyBinary).length, 100_000);
});
