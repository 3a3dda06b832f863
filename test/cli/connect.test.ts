// `switchboard connect` driven through its stdin, against a real hub and a real `ws` server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import { io as connectClient } from 'socket.io-client';
import { CliProcess, once, runCli, startTestHub } from './helpers.js';

let hub: Awaited<ReturnType<typeof startTestHub>>;
before(async () => { hub = await startTestHub({ dashboardToken: 'dash' }); });
after(() => hub.close());

test('connect: emits with acks, joins rooms via server events, prints everything incoming', async (t) => {
  const listener = new CliProcess(['connect', hub.base, '--json', '--transport', 'websocket']);
  t.after(() => listener.kill('SIGKILL'));
  listener.child.stdin.write('join ops\n');
  await listener.nextJson({ type: 'ack', event: 'join' });

  const script = [
    'join ops',
    'call echo 1, "two", {"three":3}',
    'call rooms',
    'emit alert "disk full", 93',
    'emit note plain words here',
    'bogus',
    '',
  ].join('\n');
  const talker = await runCli(['connect', hub.base, '--json', '--ack-timeout', '300'], script);
  assert.equal(talker.code, 0, talker.stderr);
  const out = talker.stdout.trim().split('\n').map((l) => JSON.parse(l));
  const acks = out.filter((l) => l.type === 'ack');
  assert.deepEqual(acks.map((a) => [a.event, a.args]), [
    ['join', [{ ok: true, rooms: ['ops'] }]],
    ['echo', [1, 'two', { three: 3 }]],
    ['rooms', [['ops']]],
  ]);
  assert.ok(out.some((l) => l.type === 'connect' && l.nsp === '/' && typeof l.id === 'string'));
  assert.ok(out.some((l) => l.type === 'sent' && l.event === 'alert'));
  assert.ok(out.some((l) => l.type === 'error' && /unknown command "bogus"/.test(l.message)));
  assert.equal(out.at(-1).type, 'disconnect');

  const alert = await listener.nextJson({ type: 'event', event: 'alert' });
  assert.deepEqual(alert.args, ['disk full', 93]);
  const note = await listener.nextJson({ type: 'event', event: 'note' });
  assert.deepEqual(note.args, ['plain words here']);
  listener.child.stdin.end('quit\n');
  assert.equal((await listener.exited).code, 0);
});

test('connect: text mode, namespaces and auth; the server can refuse', async () => {
  const peer = connectClient(`${hub.base}/chat`, { auth: { nickname: 'peer' }, reconnection: false });
  await once(peer, 'connect');
  await peer.timeout(2000).emitWithAck('join', 'cli');
  const got = once<[any]>(peer, 'message');
  const chat = await runCli(['connect', `ws://127.0.0.1:${hub.port}`, '-n', '/chat', '--auth', '{"nickname":"terminal"}', '--ack-timeout', '1500'],
    'join cli\ncall message {"room":"cli","text":"hello from a terminal"}\ncall typing {"room":"cli"}\n');
  peer.disconnect();
  assert.equal(chat.code, 3, `an acknowledgement that timed out makes the exit status 3\n${chat.stderr}`);
  assert.match(chat.stdout, /^< welcome \{"nickname":"terminal"/m);
  assert.match(chat.stdout, /^ack join \{"ok":true,"room":"cli"/m);
  assert.match(chat.stdout, /^ack message \{"ok":true,"id":"/m);
  assert.match(chat.stderr, /no ack for typing within 1500 ms/, 'an event the server does not ack times out');
  assert.match(chat.stderr, /connected to http:\/\/127\.0\.0\.1:\d+ namespace \/chat/);
  assert.equal((await got)[0].text, 'hello from a terminal');

  const refused = await runCli(['connect', hub.base, '--namespace', '/dashboard', '--auth', '{"token":"wrong"}']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /connect error: invalid dashboard token/);

  const badAuth = await runCli(['connect', hub.base, '--auth', '[1]']);
  assert.equal(badAuth.code, 2);
  assert.match(badAuth.stderr, /--auth must be a JSON object, e\.g\. .* \(got "\[1\]"\)/, 'the error shows what was typed');

  const unreachable = await runCli(['connect', 'http://127.0.0.1:1', '--transport', 'websocket']);
  assert.equal(unreachable.code, 1);
  assert.match(unreachable.stderr, /connect error: .* \(http:\/\/127\.0\.0\.1:1, namespace \/\)/, 'the error shows the URL typed');
});

test('connect --raw: text and binary frames both ways, ping, close', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  t.after(() => wss.close());
  const seen: { data: string; binary: boolean }[] = [];
  wss.on('connection', (ws, req) => {
    ws.send(`hello ${req.url}`);
    ws.on('message', (data: Buffer, isBinary) => {
      seen.push({ data: isBinary ? data.toString('hex') : data.toString('utf8'), binary: isBinary });
      ws.send(data, { binary: isBinary });
    });
  });
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}/echo`;

  const raw = await runCli(['connect', url, '--raw'], 'plain text\n//starts with a slash\n/binary 00ff10\n/ping are you there\n/close 4000 bye\n');
  assert.equal(raw.code, 0, raw.stderr);
  const lines = raw.stdout.trim().split('\n');
  assert.deepEqual(lines, ['hello /echo', 'plain text', '/starts with a slash', '< binary 3 bytes: 00ff10']);
  assert.deepEqual(seen, [
    { data: 'plain text', binary: false },
    { data: '/starts with a slash', binary: false },
    { data: '00ff10', binary: true },
  ]);
  assert.match(raw.stderr, /< pong are you there/);
  assert.match(raw.stderr, /closed: 4000 bye/);

  seen.length = 0;
  const binary = await runCli(['connect', url, '--raw', '--binary', '--json'], 'abc\n');
  assert.equal(binary.code, 0, binary.stderr);
  const out = binary.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(out.filter((l) => l.type === 'binary').map((l) => l.base64), [Buffer.from('abc').toString('base64')]);
  assert.deepEqual(seen, [{ data: Buffer.from('abc').toString('hex'), binary: true }]);
  assert.equal(out.at(-1).type, 'close');
  assert.equal(out.at(-1).code, 1000);

  const wrongScheme = await runCli(['connect', 'http://example.com', '--raw']);
  assert.equal(wrongScheme.code, 2);
  const refused = await runCli(['connect', 'ws://127.0.0.1:1', '--raw']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /ECONNREFUSED/);
});
