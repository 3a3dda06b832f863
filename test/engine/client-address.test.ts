// The client address (issue 12, item 5): which hops of X-Forwarded-For / Forwarded are believed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isIP } from 'node:net';
import fc from 'fast-check';
import { clientAddress, compileTrust, forwardedFor, hopAddress, type TrustProxy } from '../../src/engine/client-address.js';

const xff = (value: string) => ({ 'x-forwarded-for': value });
const at = (trust: TrustProxy, peer: string, value: string) => clientAddress(peer, xff(value), compileTrust(trust));

test('untrusted by default: the TCP peer, whatever the headers say', () => {
  assert.equal(clientAddress('10.0.0.5', xff('1.2.3.4'), compileTrust(undefined)), '10.0.0.5');
  assert.equal(at(false, '10.0.0.5', '1.2.3.4'), '10.0.0.5');
  assert.equal(at(0, '10.0.0.5', '1.2.3.4'), '10.0.0.5');
  assert.equal(clientAddress(undefined, xff('1.2.3.4'), compileTrust(true)), '', 'a closed socket has no address');
  assert.equal(at('loopback', '203.0.113.9', '1.2.3.4'), '203.0.113.9', 'the peer is not a trusted proxy');
});

test('hop counts: the n-th address from the right; true: the left-most', () => {
  const chain = '198.51.100.7, 10.1.1.1, 10.2.2.2'; // client, then two proxies appended what they saw
  assert.equal(at(1, '127.0.0.1', chain), '10.2.2.2');
  assert.equal(at(2, '127.0.0.1', chain), '10.1.1.1');
  assert.equal(at(3, '127.0.0.1', chain), '198.51.100.7');
  assert.equal(at(9, '127.0.0.1', chain), '198.51.100.7', 'more hops than the chain: its left end');
  assert.equal(at(true, '127.0.0.1', chain), '198.51.100.7');
  assert.equal(at(1, '127.0.0.1', ''), '127.0.0.1', 'no header: the peer');
});

test('addresses and ranges: walk while the hop is trusted; a spoofed left part is never reached', () => {
  // The client wrote "6.6.6.6" itself; our proxy 10.0.0.2 appended the real peer 198.51.100.7.
  assert.equal(at(['10.0.0.0/8', 'loopback'], '127.0.0.1', '6.6.6.6, 198.51.100.7, 10.0.0.2'), '198.51.100.7');
  assert.equal(at('loopback, 10.0.0.0/8', '::ffff:127.0.0.1', '6.6.6.6, 198.51.100.7'), '198.51.100.7', 'IPv4-mapped peer');
  assert.equal(at('uniquelocal', '192.168.1.1', '2001:db8::1'), '2001:db8::1');
  assert.equal(at('fd00::/8', 'fd00::1', '[2001:db8::2]:443'), '2001:db8::2', 'brackets and port stripped');
  assert.equal(at('linklocal', '169.254.1.1', '198.51.100.7:5000'), '198.51.100.7');
  assert.equal(at('127.0.0.1', '127.0.0.1', '198.51.100.7'), '198.51.100.7');
  assert.equal(at((address, hop) => address === '127.0.0.1' && hop === 0, '127.0.0.1', '1.1.1.1, 2.2.2.2'), '2.2.2.2');
  assert.equal(at(() => { throw new Error('boom'); }, '127.0.0.1', '2.2.2.2'), '127.0.0.1', 'a throwing function trusts nobody');
});

test('a hop that is not an IP address ends the walk at the last address read', () => {
  assert.equal(at(true, '127.0.0.1', 'unknown, 198.51.100.7'), '198.51.100.7');
  assert.equal(at(true, '127.0.0.1', '<script>, 198.51.100.7'), '198.51.100.7');
  assert.equal(at(true, '127.0.0.1', '198.51.100.7,'), '127.0.0.1', 'empty last hop');
  assert.equal(at(true, '127.0.0.1', `${'1'.repeat(100)}, 198.51.100.7`), '198.51.100.7');
  for (const bad of ['', 'x', '1.2.3', '1.2.3.4:', '[::1', '[::1]x', '[1.2.3.4]', '999.1.1.1', '1.2.3.4:123456']) {
    assert.equal(hopAddress(bad), null, bad);
  }
});

test('Forwarded (RFC 7239 §4): for= of each element, quoted strings, IPv6 in brackets', () => {
  assert.deepEqual(forwardedFor('for=192.0.2.60;proto=http;by=203.0.113.43'), ['192.0.2.60']);
  assert.deepEqual(forwardedFor('For="[2001:db8:cafe::17]:4711", for=198.51.100.17'), ['[2001:db8:cafe::17]:4711', '198.51.100.17']);
  assert.deepEqual(forwardedFor('for="a,b;c", proto=https, for=unknown'), ['a,b;c', null, 'unknown']);
  assert.deepEqual(forwardedFor('for=1.1.1.1;for=2.2.2.2, junk, for="unterminated'), [null, null, null]);
  const fwd = (value: string, trust: TrustProxy) => clientAddress('127.0.0.1', { forwarded: value }, compileTrust(trust), 'forwarded');
  assert.equal(fwd('for=6.6.6.6, for="[2001:db8::17]:4711"', 1), '2001:db8::17');
  assert.equal(fwd('for=198.51.100.7;proto=https, for=_hidden', 2), '127.0.0.1', 'an obfuscated hop ends the walk');
  assert.equal(clientAddress('127.0.0.1', { 'x-forwarded-for': '1.1.1.1' }, compileTrust(1), 'forwarded'), '127.0.0.1', 'only the configured header is read');
});

test('bad trustProxy values throw at construction', () => {
  for (const bad of [-1, 1.5, 'nonsense', ['10.0.0.0/33'], '10.0.0.0/', '::1/129']) {
    assert.throws(() => compileTrust(bad as TrustProxy), /trustProxy/, String(bad));
  }
});

test('property: any headers, any trust: never throws, returns the peer or an IP address', () => {
  const hop = fc.oneof(
    fc.ipV4(), fc.ipV6(), fc.ipV4().map((ip) => `${ip}:8080`), fc.ipV6().map((ip) => `[${ip}]:1`),
    fc.constantFrom('unknown', '_obf', '"', '[', ']', ';', '=', 'for=', '\\'), fc.string({ maxLength: 20 }),
  );
  const header = fc.oneof(fc.array(hop, { maxLength: 8 }).map((a) => a.join(', ')), fc.string({ maxLength: 80 }));
  const element = fc.tuple(fc.constantFrom('for=%', 'for="%"', 'by=%;for=%', '%'), hop).map(([form, h]) => form.replaceAll('%', h));
  const forwarded = fc.array(element, { maxLength: 6 }).map((a) => a.join(','));
  const trust = fc.oneof(
    fc.boolean(), fc.nat({ max: 10 }), fc.constantFrom('loopback', 'uniquelocal, linklocal', '10.0.0.0/8', '::/0', '0.0.0.0/0'),
    fc.func(fc.boolean()).map((f) => (a: string, h: number) => f(a, h)),
  );
  fc.assert(
    fc.property(fc.option(fc.oneof(fc.ipV4(), fc.ipV6(), fc.constant('::ffff:127.0.0.1'))), header, forwarded, trust, fc.boolean(), (peer, x, f, t, useForwarded) => {
      const result = clientAddress(peer ?? undefined, { 'x-forwarded-for': x, forwarded: f }, compileTrust(t), useForwarded ? 'forwarded' : 'x-forwarded-for');
      assert.equal(typeof result, 'string');
      assert.ok(result === (peer ?? '') || isIP(result) !== 0, result);
    }),
    { numRuns: 2000 },
  );
});
