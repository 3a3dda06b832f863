// The client's handshake request as pure steps: URL and subprotocol rules (RFC 6455 section 4.1),
// the headers sent, and the credential rule of redirects. No I/O here; redirect.test.ts and
// handshake.test.ts cover the same paths over loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planHandshake, planRedirect } from '../../src/websocket/client-request.js';

test('URLs: http(s) maps to ws(s); other schemes and fragments are SyntaxErrors', () => {
  assert.equal(planHandshake('http://a.test/x?y=1', [], {}).url.href, 'ws://a.test/x?y=1');
  assert.equal(planHandshake('https://a.test/', [], {}).secure, true);
  for (const bad of ['ftp://a.test/', 'ws://a.test/#frag', 'not a url']) {
    assert.throws(() => planHandshake(bad, [], {}), SyntaxError, bad);
  }
});

test('subprotocols must be distinct tokens', () => {
  assert.throws(() => planHandshake('ws://a.test/', ['chat', 'chat'], {}), SyntaxError);
  assert.throws(() => planHandshake('ws://a.test/', ['bad token'], {}), SyntaxError);
  const headers = planHandshake('ws://a.test/', ['chat', 'v2'], {}).request.headers as Record<string, string>;
  assert.equal(headers['Sec-WebSocket-Protocol'], 'chat,v2');
});

test('the request: fresh 16-byte key, version 13, deflate offered unless turned off, IPv6 host unbracketed', () => {
  const a = planHandshake('ws://[::1]:9000/p', [], { headers: { 'X-Id': '7' }, origin: 'http://o.test' });
  const b = planHandshake('ws://[::1]:9000/p', [], { perMessageDeflate: false });
  assert.equal(Buffer.from(a.key, 'base64').length, 16);
  assert.notEqual(a.key, b.key);
  const headers = a.request.headers as Record<string, string>;
  assert.equal(headers['Sec-WebSocket-Version'], '13');
  assert.equal(headers['X-Id'], '7');
  assert.equal(headers['Origin'], 'http://o.test');
  assert.match(headers['Sec-WebSocket-Extensions']!, /^permessage-deflate/);
  assert.equal((b.request.headers as Record<string, string>)['Sec-WebSocket-Extensions'], undefined);
  assert.equal(b.deflateOptions, null);
  assert.equal(a.request.hostname, '::1');
  assert.equal(a.request.port, '9000');
  assert.equal(a.request.path, '/p');
});

test('connection limits are passed on, not sent as request options', () => {
  const plan = planHandshake('ws://a.test/', [], { maxPayload: 10, closeTimeout: 5, handshakeTimeout: 0 });
  assert.equal(plan.connection.maxPayload, 10);
  assert.equal(plan.connection.closeTimeout, 5);
  assert.equal(plan.handshakeTimeout, 0);
  assert.equal((plan.request as Record<string, unknown>).maxPayload, undefined);
});

test('redirects keep credentials on the same host:port and drop them elsewhere', () => {
  const from = new URL('ws://u:p@a.test:80/start');
  const options = { headers: { Authorization: 'Bearer x', Cookie: 'c=1', 'X-Keep': 'k' }, auth: 'u:p' };
  const same = planRedirect('/next', from, options);
  assert.equal(same.url.href, 'http://u:p@a.test/next');
  assert.equal(same.options, options);
  const other = planRedirect('http://u:p@b.test/next', from, options);
  assert.equal(other.url.username, '');
  assert.deepEqual(other.options.headers, { 'X-Keep': 'k' });
  assert.equal(other.options.auth, undefined);
  const otherPort = planRedirect('http://a.test:81/next', from, options);
  assert.deepEqual(otherPort.options.headers, { 'X-Keep': 'k' });
  assert.throws(() => planRedirect('http://[bad', from, options), /Invalid redirect location/);
});
