import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  acceptKey,
  buildErrorResponse,
  buildUpgradeResponse,
  checkUpgradeRequest,
  checkUpgradeResponse,
  hasToken,
  isValidKey,
  parseProtocolList,
} from '../../src/protocol/ws-handshake.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const goodRequest = () => ({
  method: 'GET',
  httpVersion: '1.1',
  headers: {
    host: 'example.com',
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': KEY,
    'sec-websocket-version': '13',
  } as Record<string, string | undefined>,
});

test('derives the RFC 6455 §1.3 accept key', () => {
  assert.equal(acceptKey(KEY), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
});

test('accepts a valid request, with case-insensitive token lists', () => {
  const req = goodRequest();
  req.headers.upgrade = 'WebSocket';
  req.headers.connection = 'keep-alive, UPGRADE';
  req.headers['sec-websocket-protocol'] = 'chat, superchat';
  const check = checkUpgradeRequest(req);
  assert.ok(check.ok);
  assert.deepEqual([...check.protocols], ['chat', 'superchat']);
});

test('refuses bad requests with 400 and a reason (405 for the method); a wrong version lists 13, 8', () => {
  const cases: Array<[(r: ReturnType<typeof goodRequest>) => void, number]> = [
    [(r) => (r.method = 'POST'), 405],
    [(r) => (r.httpVersion = '1.0'), 400],
    [(r) => delete r.headers.host, 400],
    [(r) => (r.headers.upgrade = 'h2c'), 400],
    [(r) => (r.headers.connection = 'keep-alive'), 400],
    [(r) => delete r.headers['sec-websocket-key'], 400],
    [(r) => (r.headers['sec-websocket-key'] = 'c2hvcnQ='), 400],
    [(r) => (r.headers['sec-websocket-protocol'] = 'a, a'), 400],
    [(r) => (r.headers['sec-websocket-protocol'] = 'a b'), 400],
    [(r) => (r.headers['sec-websocket-version'] = '7'), 400],
    [(r) => delete r.headers['sec-websocket-version'], 400],
  ];
  for (const [mutate, status] of cases) {
    const req = goodRequest();
    mutate(req);
    const check = checkUpgradeRequest(req);
    assert.equal(check.ok, false);
    if (!check.ok) {
      assert.equal(check.status, status);
      assert.ok(check.reason.length > 0);
      if (/Version/.test(check.reason)) assert.deepEqual(check.headers, { 'Sec-WebSocket-Version': '13, 8' });
    }
  }
});

test('keys must be base64 of 16 bytes', () => {
  assert.equal(isValidKey(KEY), true);
  assert.equal(isValidKey(Buffer.alloc(16).toString('base64')), true);
  assert.equal(isValidKey(Buffer.alloc(17).toString('base64')), false);
  assert.equal(isValidKey('!!!!!!!!!!!!!!!!!!!!!!=='), false);
});

test('token lists and protocol lists', () => {
  assert.equal(hasToken('a, Upgrade ,b', 'upgrade'), true);
  assert.equal(hasToken('upgrader', 'upgrade'), false);
  assert.equal(hasToken(undefined, 'upgrade'), false);
  assert.equal(parseProtocolList(''), null);
  assert.equal(parseProtocolList('a,,b'), null);
  assert.deepEqual(parseProtocolList('a ,\tb'), new Set(['a', 'b']));
  assert.equal(parseProtocolList(' a,b'), null); // as ws: no blank before the first token
});

test('version 8 (hybi-08) is accepted, as ws', () => {
  const req = goodRequest();
  req.headers['sec-websocket-version'] = '8';
  const check = checkUpgradeRequest(req);
  assert.ok(check.ok && check.version === 8);
});

test('parseProtocolList never throws on random input', () => {
  fc.assert(fc.property(fc.string({ maxLength: 100 }), (s) => void parseProtocolList(s)));
});

test('builds the 101 and error responses; refuses header injection', () => {
  const response = buildUpgradeResponse({ key: KEY, protocol: 'chat', extensions: 'permessage-deflate' });
  assert.equal(
    response,
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
      'Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n',
  );
  const error = buildErrorResponse(426, 'nope', { 'Sec-WebSocket-Version': '13' });
  assert.match(error, /^HTTP\/1\.1 426 Upgrade Required\r\n/);
  assert.match(error, /Content-Length: 4\r\n/);
  assert.match(error, /Sec-WebSocket-Version: 13\r\n\r\nnope$/);
  assert.throws(() => buildErrorResponse(400, '', { 'X-A': 'b\r\nSet-Cookie: x' }), TypeError);
});

test('client checks the server response', () => {
  const headers = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': acceptKey(KEY) } as Record<string, string>;
  assert.equal(checkUpgradeResponse({ statusCode: 101, headers }, KEY, []), null);
  assert.match(checkUpgradeResponse({ statusCode: 200, headers }, KEY, [])!, /Unexpected server response: 200/);
  assert.match(checkUpgradeResponse({ statusCode: 101, headers: { ...headers, 'sec-websocket-accept': 'x' } }, KEY, [])!, /Accept/);
  assert.match(checkUpgradeResponse({ statusCode: 101, headers: { ...headers, 'sec-websocket-protocol': 'b' } }, KEY, ['a'])!, /subprotocol/);
  assert.match(checkUpgradeResponse({ statusCode: 101, headers: { ...headers, 'sec-websocket-protocol': 'b' } }, KEY, [])!, /subprotocol/);
  assert.equal(checkUpgradeResponse({ statusCode: 101, headers: { ...headers, 'sec-websocket-protocol': 'a' } }, KEY, ['a']), null);
});
