import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildClosePayload, isValidCloseCode, parseClosePayload } from '../../src/protocol/ws-close.js';
import { WebSocketProtocolError } from '../../src/protocol/ws-errors.js';

test('valid and invalid close codes (Autobahn 7.7 / 7.9 / 7.13)', () => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
    assert.equal(isValidCloseCode(code), true, String(code));
  }
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
    assert.equal(isValidCloseCode(code), false, String(code));
  }
});

test('parses empty, code-only and code+reason payloads', () => {
  assert.deepEqual(parseClosePayload(new Uint8Array(0)), { code: 1005, reason: new Uint8Array(0) });
  const { code, reason } = parseClosePayload(Uint8Array.from([0x03, 0xe8, 0x68, 0x69]));
  assert.equal(code, 1000);
  assert.equal(Buffer.from(reason).toString(), 'hi');
});

test('rejects 1-byte payloads (1002), bad codes (1002) and bad UTF-8 reasons (1007)', () => {
  const expectError = (payload: number[], closeCode: number): void => {
    assert.throws(() => parseClosePayload(Uint8Array.from(payload)), (e: unknown) => e instanceof WebSocketProtocolError && e.closeCode === closeCode);
  };
  expectError([0x03], 1002);
  expectError([0x03, 0xee], 1002); // 1006
  expectError([0x03, 0xe8, 0xff], 1007);
});

test('build and parse round trip for every valid code and short reasons', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5000 }).filter(isValidCloseCode), fc.string({ maxLength: 30 }), (code, reason) => {
      const parsed = parseClosePayload(buildClosePayload(code, reason));
      assert.equal(parsed.code, code);
      assert.equal(Buffer.from(parsed.reason).toString(), reason);
    }),
  );
});

test('buildClosePayload refuses what must not be sent', () => {
  assert.equal(buildClosePayload().length, 0);
  assert.throws(() => buildClosePayload(1005), RangeError);
  assert.throws(() => buildClosePayload(1000, 'x'.repeat(124)), RangeError);
  assert.equal(buildClosePayload(1000, 'x'.repeat(123)).length, 125);
  assert.throws(() => buildClosePayload(undefined, 'reason'), RangeError);
});

test('random payloads never throw anything but a typed error', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 125 }), (payload) => {
      try {
        parseClosePayload(payload);
      } catch (error) {
        assert.ok(error instanceof WebSocketProtocolError);
      }
    }),
  );
});
