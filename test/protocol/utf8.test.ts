import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { isValidUtf8, utf8Validate, UTF8_ACCEPT, UTF8_REJECT } from '../../src/protocol/utf8.js';

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const fatal = new TextDecoder('utf-8', { fatal: true });
const reference = (bytes: Uint8Array): boolean => {
  try {
    fatal.decode(bytes);
    return true;
  } catch {
    return false;
  }
};

// Vectors from the Autobahn 6.x cases (valid ✓ / invalid ✗).
const VALID = [
  '', '48656c6c6f', 'c2a2', 'e282ac', 'f0a4ada2', 'cebae1bdb9cf83cebcceb5', '00', 'c280', 'e0a080', 'f0908080',
  '7f', 'dfbf', 'efbfbf', 'f48fbfbf', 'ed9fbf', 'ee8080', 'efbfbd', 'efbfbe', 'f48fbfbe', 'efbfb9',
];
const INVALID = [
  'f888808080', 'fc8480808080', 'f7bfbfbf', 'fbbfbfbfbf', 'f4908080', '80', 'bf', '80bf', 'c020', 'e020', 'f020',
  'c0', 'e080', 'f08080', 'df', 'efbf', 'f7bfbf', 'fe', 'ff', 'fefeffff', 'c0af', 'e080af', 'f08080af', 'c1bf',
  'e09fbf', 'f08fbfbf', 'c080', 'e08080', 'f0808080', 'eda080', 'edadbf', 'edbfbf', 'eda080edb080',
  'cebae1bdb9cf83cebcceb5eda080656469746564', 'cebae1', 'ce',
];

test('accepts the valid Autobahn vectors, whole and byte by byte', () => {
  for (const v of VALID) {
    const bytes = hex(v);
    assert.equal(isValidUtf8(bytes), true, v);
    let state = UTF8_ACCEPT;
    for (let i = 0; i < bytes.length; i++) state = utf8Validate(state, bytes, i, i + 1);
    assert.equal(state, UTF8_ACCEPT, v);
  }
});

test('rejects the invalid Autobahn vectors (incomplete at the end counts as invalid)', () => {
  for (const v of INVALID) assert.equal(isValidUtf8(hex(v)), false, v);
});

test('fails fast: the byte that makes a prefix invalid is rejected at once (Autobahn 6.4.x)', () => {
  const payload = hex('cebae1bdb9cf83cebcceb5 f4908080 656469746564');
  let state = utf8Validate(UTF8_ACCEPT, payload, 0, 12); // κόσμε + f4: still possible
  assert.notEqual(state, UTF8_REJECT);
  assert.notEqual(state, UTF8_ACCEPT);
  state = utf8Validate(state, payload, 12, 13); // 0x90 after f4 exceeds U+10FFFF
  assert.equal(state, UTF8_REJECT);
  assert.equal(utf8Validate(state, payload, 13), UTF8_REJECT, 'rejection is sticky');
});

test('agrees with TextDecoder({fatal}) on random bytes split at random points', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.array(fc.nat(300), { maxLength: 8 }),
      fc.boolean(),
      (bytes, cuts, useWhole) => {
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let state = UTF8_ACCEPT;
        let start = 0;
        for (const p of [...points, bytes.length]) {
          state = utf8Validate(state, bytes, start, p, useWhole ? isUtf8 : undefined);
          start = p;
        }
        assert.equal(state === UTF8_ACCEPT, reference(bytes));
      },
    ),
    { numRuns: 2000 },
  );
});

test('agrees with TextDecoder on random valid text with random splits (whole-buffer fast path)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.nat(1000), (text, cut) => {
      const bytes = new TextEncoder().encode(text);
      const p = cut % (bytes.length + 1);
      let state = utf8Validate(UTF8_ACCEPT, bytes, 0, p, isUtf8);
      state = utf8Validate(state, bytes, p, bytes.length, isUtf8);
      assert.equal(state, UTF8_ACCEPT);
    }),
    { numRuns: 300 },
  );
});

test('an invalid byte is rejected by the prefix that contains it (fail-fast property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 100 }), (bytes) => {
      // Find the first prefix the validator rejects; every shorter prefix must be a valid prefix
      // of some UTF-8 text, i.e. TextDecoder in streaming mode must not throw on it.
      const streaming = new TextDecoder('utf-8', { fatal: true });
      let state = UTF8_ACCEPT;
      for (let i = 0; i < bytes.length; i++) {
        state = utf8Validate(state, bytes, i, i + 1);
        let streamOk = true;
        try {
          streaming.decode(bytes.subarray(i, i + 1), { stream: true });
        } catch {
          streamOk = false;
        }
        assert.equal(state !== UTF8_REJECT, streamOk, `byte ${i}`);
        if (!streamOk) break;
      }
    }),
    { numRuns: 1000 },
  );
});
