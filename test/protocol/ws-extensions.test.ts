import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  acceptDeflateResponse,
  deflateOffer,
  ExtensionSyntaxError,
  formatExtensions,
  negotiateDeflate,
  parseExtensions,
  MAX_EXTENSIONS_HEADER,
} from '../../src/protocol/ws-extensions.js';

test('parses offers, parameters, quoted values and whitespace', () => {
  assert.deepEqual(parseExtensions('permessage-deflate; client_max_window_bits, permessage-deflate;server_max_window_bits="10" , x-foo'), [
    { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
    { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
    { name: 'x-foo', params: [] },
  ]);
});

test('rejects malformed headers with a typed error', () => {
  for (const bad of ['', ',', 'a;', 'a;=1', 'a; b=', 'a; b="1 2"', 'a; b="unterminated', 'a b', 'a,,b', 'a; b=1 c']) {
    assert.throws(() => parseExtensions(bad), ExtensionSyntaxError, JSON.stringify(bad));
  }
  assert.throws(() => parseExtensions('a'.repeat(MAX_EXTENSIONS_HEADER + 1)), ExtensionSyntaxError);
});

test('format/parse round trip', () => {
  const token = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,10}$/);
  fc.assert(
    fc.property(
      fc.array(fc.record({ name: token, params: fc.array(fc.tuple(token, fc.oneof(fc.constant(true as const), token))) }), { minLength: 1, maxLength: 4 }),
      (generated) => {
        const offers = generated.map((o) => ({ name: o.name, params: o.params.map(([k, v]) => [k, v] as [string, string | true]) }));
        assert.deepEqual(parseExtensions(formatExtensions(offers)), offers);
      },
    ),
  );
});

test('random input never throws anything but ExtensionSyntaxError and stays linear', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      try {
        parseExtensions(s);
      } catch (error) {
        assert.ok(error instanceof ExtensionSyntaxError);
      }
    }),
    { numRuns: 2000 },
  );
  // A long adversarial header parses quickly (no backtracking).
  const started = process.hrtime.bigint();
  try {
    parseExtensions('a;' + 'b=c;'.repeat(1000));
  } catch {}
  assert.ok(process.hrtime.bigint() - started < 1_000_000_000n);
});

const offer = (s: string) => parseExtensions(s);

test('server negotiation: default offer, parameters echoed and capped (Autobahn 13.x offers)', () => {
  assert.deepEqual(negotiateDeflate(offer('permessage-deflate; client_max_window_bits'))?.response, 'permessage-deflate');
  assert.equal(
    negotiateDeflate(offer('permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover'))?.response,
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
  );
  const deal = negotiateDeflate(offer('permessage-deflate; server_max_window_bits=9; client_max_window_bits'), { serverMaxWindowBits: 12, clientMaxWindowBits: 10 });
  assert.equal(deal?.response, 'permessage-deflate; server_max_window_bits=9; client_max_window_bits=10');
  assert.deepEqual(deal?.params, { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 9, clientMaxWindowBits: 10 });
  // Our own preferences are asserted unasked where allowed.
  assert.equal(
    negotiateDeflate(offer('permessage-deflate'), { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 11, clientMaxWindowBits: 10 })?.response,
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11',
  );
});

test('server declines invalid offers and takes the first acceptable one (Autobahn 13.7)', () => {
  for (const bad of [
    'permessage-deflate; foo',
    'permessage-deflate; server_max_window_bits',
    'permessage-deflate; server_max_window_bits=16',
    'permessage-deflate; server_max_window_bits=010',
    'permessage-deflate; server_max_window_bits=8',
    'permessage-deflate; client_max_window_bits=7',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; client_no_context_takeover; client_no_context_takeover',
    'x-other',
  ]) {
    assert.equal(negotiateDeflate(offer(bad)), null, bad);
  }
  const deal = negotiateDeflate(offer('permessage-deflate; foo, permessage-deflate; server_no_context_takeover; server_max_window_bits=9, permessage-deflate'));
  assert.equal(deal?.response, 'permessage-deflate; server_no_context_takeover; server_max_window_bits=9');
});

test('client offer and response validation', () => {
  assert.equal(deflateOffer(), 'permessage-deflate; client_max_window_bits');
  assert.equal(
    deflateOffer({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 12 }),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
  );
  assert.equal(acceptDeflateResponse([]), null);
  assert.deepEqual(acceptDeflateResponse(offer('permessage-deflate; client_max_window_bits=9')), {
    serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 9,
  });
  for (const bad of [
    'x-foo',
    'permessage-deflate, permessage-deflate',
    'permessage-deflate; client_max_window_bits',
    'permessage-deflate; unknown',
    'permessage-deflate; client_max_window_bits=8',
  ]) {
    assert.throws(() => acceptDeflateResponse(offer(bad)), Error, bad);
  }
  assert.throws(() => acceptDeflateResponse(offer('permessage-deflate'), { serverNoContextTakeover: true }));
  assert.throws(() => acceptDeflateResponse(offer('permessage-deflate; server_max_window_bits=12'), { serverMaxWindowBits: 10 }));
  assert.throws(() => deflateOffer({ serverMaxWindowBits: 8 }), RangeError);
});
