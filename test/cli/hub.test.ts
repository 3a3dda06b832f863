// The hub in-process: chat rules, dashboard, origins, pages. Real sockets, real socket.io-client.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { once, startTestHub } from './helpers.js';
import { parseTrustProxy } from '../../src/cli/main.js';

type TestHub = Awaited<ReturnType<typeof startTestHub>>;
let hub: TestHub;
const clients: ClientSocket[] = [];

before(async () => {
  hub = await startTestHub({ dashboardToken: 'secret-token', chatLimits: { historyPerRoom: 5, burst: 3, ratePerSecond: 0.001, roomsPerSocket: 2, maxTextLength: 50 } });
});
after(async () => {
  for (const c of clients) c.disconnect();
  await hub.close();
});

function client(nsp: string, auth: Record<string, unknown> = {}, transports: ('polling' | 'websocket')[] = ['websocket']): ClientSocket {
  const c = connectClient(`${hub.base}${nsp}`, { auth, transports, forceNew: true, reconnection: false });
  clients.push(c);
  return c;
}

async function chatter(nickname: string): Promise<ClientSocket> {
  const c = client('/chat', { nickname });
  await once(c, 'connect');
  return c;
}

/** The first `event` whose payload passes `test`. */
function until(c: ClientSocket, event: string, test: (payload: any) => boolean): Promise<any> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching ${event}`)), 5000);
    const listener = (payload: any) => {
      if (!test(payload)) return;
      clearTimeout(timer);
      c.off(event, listener);
      resolve(payload);
    };
    c.on(event, listener);
  });
}

const ack = (c: ClientSocket, event: string, ...args: unknown[]) => c.timeout(3000).emitWithAck(event, ...args) as Promise<any>;

test('chat: nicknames are validated by middleware', async () => {
  const c = client('/chat', { nickname: '<b>bad</b>' });
  const [err] = await once<[Error & { data?: any }]>(c, 'connect_error');
  assert.match(err.message, /invalid nickname/);
  assert.equal(err.data.code, 'INVALID_NICKNAME');
  const none = client('/chat');
  await once(none, 'connect_error');
});

test('chat: join, acked messages, presence, typing and history for late joiners', async () => {
  const ada = client('/chat', { nickname: 'ada' });
  const welcome = once<[any]>(ada, 'welcome');
  await once(ada, 'connect');
  assert.equal((await welcome)[0].nickname, 'ada');
  assert.ok(Array.isArray((await welcome)[0].rooms));
  const joined = await ack(ada, 'join', 'lobby');
  assert.equal(joined.ok, true);
  assert.deepEqual(joined.members, ['ada']);
  assert.deepEqual(joined.history, []);

  const bob = await chatter('bob');
  const presence = until(ada, 'presence', (p) => p.joined === 'bob');
  assert.equal((await ack(bob, 'join', 'lobby')).ok, true);
  const update = await presence;
  assert.deepEqual(update, { room: 'lobby', members: ['ada', 'bob'], joined: 'bob' });

  const received = once<[any]>(bob, 'message');
  const delivered = await ack(ada, 'message', { room: 'lobby', text: 'hello <b>bob</b>' });
  assert.equal(delivered.ok, true);
  assert.equal(typeof delivered.id, 'string');
  const [message] = await received;
  assert.deepEqual(message, { id: delivered.id, room: 'lobby', nickname: 'ada', text: 'hello <b>bob</b>', ts: delivered.ts });

  const typing = once<[any]>(ada, 'typing');
  bob.emit('typing', { room: 'lobby', typing: true });
  assert.deepEqual((await typing)[0], { room: 'lobby', nickname: 'bob', typing: true });

  for (let i = 0; i < 2; i++) assert.equal((await ack(bob, 'message', { room: 'lobby', text: `m${i}` })).ok, true);
  const cy = await chatter('cy');
  const late = await ack(cy, 'join', 'lobby');
  assert.deepEqual(late.history.map((m: any) => m.text), ['hello <b>bob</b>', 'm0', 'm1']);

  const left = until(ada, 'presence', (p) => p.left === 'cy');
  cy.disconnect();
  assert.deepEqual(await left, { room: 'lobby', members: ['ada', 'bob'], left: 'cy' });
});

test('chat: limits are enforced (text length, rooms per socket, rate, membership, room names)', async () => {
  const eve = await chatter('eve');
  assert.equal((await ack(eve, 'message', { room: 'lobby', text: 'hi' })).ok, false, 'must join first');
  assert.match((await ack(eve, 'join', 'no spaces')).error, /invalid room/);
  assert.equal((await ack(eve, 'join', 'r1')).ok, true);
  assert.equal((await ack(eve, 'join', 'r2')).ok, true);
  assert.match((await ack(eve, 'join', 'r3')).error, /at most 2 rooms/);
  assert.match((await ack(eve, 'message', { room: 'r1', text: 'x'.repeat(51) })).error, /1-50 characters/);
  assert.match((await ack(eve, 'message', { room: 'r1', text: 42 })).error, /characters/);
  const results = [];
  for (let i = 0; i < 5; i++) results.push((await ack(eve, 'message', { room: 'r1', text: `n${i}` })).ok);
  assert.deepEqual(results, [true, true, true, false, false], 'burst of 3, then throttled');
  assert.equal((await ack(eve, 'leave', 'r2')).ok, true);
  assert.equal((await ack(eve, 'leave', 'r2')).ok, false);
  // hostile payloads: no ack function, wrong types; the hub stays up
  eve.emit('join');
  eve.emit('message', null);
  eve.emit('typing', 'x');
  assert.equal((await ack(eve, 'join', 'r2')).ok, true);
});

test('chat: history keeps only the last N messages per room', async () => {
  const writers = await Promise.all(['w1', 'w2', 'w3'].map(chatter));
  for (const w of writers) await ack(w, 'join', 'busy');
  let n = 0;
  for (const w of writers) for (let i = 0; i < 3; i++) assert.equal((await ack(w, 'message', { room: 'busy', text: `t${n++}` })).ok, true);
  const reader = await chatter('reader');
  const { history } = await ack(reader, 'join', 'busy');
  assert.deepEqual(history.map((m: any) => m.text), ['t4', 't5', 't6', 't7', 't8']);
});

test('relay on /: join rooms, echo with ack, events relayed to room members only', async () => {
  const a = client('/');
  const b = client('/');
  const c = client('/');
  await Promise.all([a, b, c].map((s) => once(s, 'connect')));
  assert.deepEqual(await ack(a, 'join', 'ops'), { ok: true, rooms: ['ops'] });
  assert.deepEqual(await ack(b, 'join', 'ops'), { ok: true, rooms: ['ops'] });
  assert.deepEqual(await a.timeout(2000).emitWithAck('echo', 1, 'two'), 1);
  let cGot = false;
  c.on('news', () => { cGot = true; });
  const got = once<unknown[]>(b, 'news');
  assert.deepEqual(await ack(a, 'news', { n: 1 }, 'x'), { ok: true });
  assert.deepEqual(await got, [{ n: 1 }, 'x']);
  assert.deepEqual(await ack(c, 'rooms'), []);
  assert.equal(cGot, false);
  for (let i = 0; i < 50; i++) assert.equal((await ack(c, 'join', `r${i}`)).ok, true);
  assert.match((await ack(c, 'join', 'one-too-many')).error, /at most 50 rooms/);
  assert.match((await ack(c, 'join', '../bad room')).error, /invalid room/);
});

test('dashboard: refuses a wrong token, streams metrics with the hub state', async () => {
  const wrong = client('/dashboard', { token: 'nope' });
  const [err] = await once<[Error & { data?: any }]>(wrong, 'connect_error');
  assert.equal(err.data.code, 'INVALID_TOKEN');
  assert.match(hub.log(), /dashboard-denied/);

  const chat = await chatter('dash-user');
  await ack(chat, 'join', 'metrics-room');
  const polling = client('/', {}, ['polling']);
  polling.io.opts.upgrade = false;
  await once(polling, 'connect');

  const dash = client('/dashboard', { token: 'secret-token' });
  const [hello] = await once<[any]>(dash, 'hello');
  assert.equal(hello.adapter, 'memory');
  assert.ok(Array.isArray(hello.series));
  await ack(chat, 'message', { room: 'metrics-room', text: 'counted' });
  // wait for a snapshot taken after the message
  let snapshot: any;
  for (;;) {
    [snapshot] = await once<[any]>(dash, 'metrics', 3000);
    if (snapshot.totals.messagesIn > 0 && snapshot.totals.bytesIn > 0) break;
  }
  assert.ok(snapshot.connections >= 3);
  assert.ok(snapshot.transports.websocket >= 2);
  assert.ok(snapshot.transports.polling >= 1);
  const chatNsp = snapshot.namespaces.find((n: any) => n.name === '/chat');
  assert.deepEqual(chatNsp.rooms.find((r: any) => r.name === 'room:metrics-room'), { name: 'room:metrics-room', size: 1 });
  assert.ok(snapshot.clients.some((c: any) => c.nickname === 'dash-user' && c.nsp === '/chat' && c.transport === 'websocket' && c.address));
  assert.ok(snapshot.totals.messagesOut > 0);
  assert.ok(snapshot.totals.bytesOut > 0);
  assert.ok(snapshot.memory.heapUsed > 0);
  assert.equal(typeof snapshot.eventLoopDelayMs.p99, 'number');
});

test('origins: other sites are refused unless configured; same origin and non-browsers pass', async () => {
  const handshake = (origin?: string) => fetch(`${hub.base}/socket.io/?EIO=4&transport=polling`, { headers: origin ? { Origin: origin } : {} });
  const evil = await handshake('http://evil.example');
  assert.equal(evil.status, 403);
  assert.equal(evil.headers.get('access-control-allow-origin'), null);
  assert.equal((await handshake(`http://127.0.0.1:${hub.port}`)).status, 200);
  assert.equal((await handshake()).status, 200);

  const open = await startTestHub({ corsOrigins: ['http://app.example'] });
  try {
    const res = await fetch(`${open.base}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'http://app.example' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), 'http://app.example');
    const other = await fetch(`${open.base}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'http://other.example' } });
    assert.equal(other.status, 403);
  } finally {
    await open.close();
  }
});

test('pages: chat and dashboard with strict headers; nothing else', async () => {
  const page = await fetch(`${hub.base}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /text\/html/);
  assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
  const html = await page.text();
  const clientSrc = /<script src="([^"]+)" defer><\/script>/.exec(html)?.[1];
  assert.ok(clientSrc && clientSrc !== '/chat.js', 'the page loads the browser client');
  const bundle = await fetch(`${hub.base}${clientSrc}`);
  assert.equal(bundle.status, 200, `${clientSrc} is served`);
  assert.match(bundle.headers.get('content-type')!, /javascript/);
  assert.match(await bundle.text(), /\bio\b/);
  assert.match(html, /content="\/socket.io"/);
  assert.doesNotMatch(html, /%[A-Z_]+%/);
  assert.equal((await fetch(`${hub.base}/dashboard`)).status, 200);
  assert.equal((await fetch(`${hub.base}/chat.js`)).status, 200);
  const etag = (await fetch(`${hub.base}/style.css`)).headers.get('etag')!;
  assert.equal((await fetch(`${hub.base}/style.css`, { headers: { 'If-None-Match': etag } })).status, 304);
  for (const path of ['/nope', '/../package.json', '/%2e%2e/package.json']) {
    assert.equal((await fetch(`${hub.base}${path}`)).status, 404, path);
  }
  assert.equal((await fetch(`${hub.base}/`, { method: 'POST' })).status, 404);
});

test('logs every connection and disconnection with id, namespace, transport and address', async () => {
  const c = client('/', {}, ['polling']);
  await once(c, 'connect');
  const id = c.id;
  c.disconnect();
  for (let i = 0; i < 50 && !hub.log().includes(`"event":"disconnect","id":"${id}"`); i++) await new Promise((r) => setTimeout(r, 20));
  const entries = hub.log().trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.id === id);
  assert.deepEqual(entries.map((e) => e.event), ['connect', 'disconnect']);
  assert.equal(entries[0].nsp, '/');
  assert.equal(entries[0].transport, 'polling');
  assert.equal(entries[0].address, '127.0.0.1');
  assert.equal(entries[1].reason, 'client namespace disconnect');
});

test('--path moves the endpoint; the pages follow it', async () => {
  const moved = await startTestHub({ path: '/rt/' });
  try {
    const html = await (await fetch(`${moved.base}/`)).text();
    assert.match(html, /name="switchboard-path" content="\/rt"/);
    const c = connectClient(`${moved.base}/`, { path: '/rt', transports: ['websocket'], reconnection: false });
    clients.push(c);
    await once(c, 'connect');
    assert.deepEqual(await c.timeout(2000).emitWithAck('echo', 'moved'), 'moved');
    assert.equal((await fetch(`${moved.base}/socket.io/?EIO=4&transport=polling`)).status, 404);
  } finally {
    await moved.close();
  }
});

test('--trust-proxy: behind a trusted proxy, logs and the dashboard show the forwarded client address', async () => {
  const proxied = await startTestHub({ trustProxy: ['loopback'], dashboardToken: 'tp' });
  try {
    const headers = { 'X-Forwarded-For': '6.6.6.6, 198.51.100.7' };
    const c = connectClient(`${proxied.base}/chat`, { auth: { nickname: 'proxied' }, transports: ['websocket'], extraHeaders: headers, forceNew: true, reconnection: false });
    clients.push(c);
    await once(c, 'connect');
    const dash = connectClient(`${proxied.base}/dashboard`, { auth: { token: 'tp' }, transports: ['websocket'], forceNew: true, reconnection: false });
    clients.push(dash);
    let snapshot: any;
    do [snapshot] = await once<[any]>(dash, 'metrics', 3000);
    while (!snapshot.clients.some((x: any) => x.nickname === 'proxied'));
    assert.equal(snapshot.clients.find((x: any) => x.nickname === 'proxied').address, '198.51.100.7');
    const logged = proxied.log().trim().split('\n').map((l) => JSON.parse(l)).find((e) => e.event === 'connect' && e.nsp === '/chat');
    assert.equal(logged.address, '198.51.100.7');
  } finally {
    await proxied.close();
  }
});

test('parseTrustProxy: the --trust-proxy values', () => {
  assert.equal(parseTrustProxy(undefined), undefined);
  assert.equal(parseTrustProxy('true'), true);
  assert.equal(parseTrustProxy('false'), false);
  assert.equal(parseTrustProxy('2'), 2);
  assert.deepEqual(parseTrustProxy('loopback, 10.0.0.0/8,::1'), ['loopback', '10.0.0.0/8', '::1']);
  for (const bad of ['', 'yes', '10.0.0.0/33', '::/129', '1.2.3.4/8/1', 'localhost']) assert.throws(() => parseTrustProxy(bad), /trust-proxy/, bad);
});
