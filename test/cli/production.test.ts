// The hub as a small production server: TLS, PORT/HOST, a dashboard token that survives restarts,
// help that shows every default; and `switchboard connect` as a script step (exit codes, errors
// that show what was typed, hints about --raw, close reasons, output that does not run into the prompt).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { io as connectClient } from 'socket.io-client';
import { runConnect } from '../../src/cli/connect.js';
import { WebSocketServer } from '../../src/websocket/index.js';
import { CliProcess, once, root, runCli, startServeProcess, startTestHub } from './helpers.js';

const cert = readFileSync(join(root, 'test/websocket/fixtures/cert.pem'));
const certPath = join(root, 'test/websocket/fixtures/cert.pem');
const keyPath = join(root, 'test/websocket/fixtures/key.pem');

test('serve --help shows the default of every option that takes a value', async () => {
  const { code, stdout } = await runCli(['serve', '--help']);
  assert.equal(code, 0);
  const rows = stdout.split('\n').filter((line) => /^\s+(-\w, )?--[a-z-]+ </.test(line));
  assert.ok(rows.length >= 10, stdout);
  // A key goes with its certificate and a token file has no default: they say so in their text.
  for (const row of rows.filter((r) => !/--tls-key|--dashboard-token-file/.test(r))) {
    assert.match(row, /default: /, `no default shown: ${row.trim()}`);
  }
  assert.match(stdout, /--port <PORT>.*default: 3000; env PORT/);
  assert.match(stdout, /--host <HOST>.*default: 127\.0\.0\.1; env HOST/);
  assert.match(stdout, /--adapter <KIND>.*default: memory/);
  assert.match(stdout, /--redis <URL>.*default: redis:\/\/127\.0\.0\.1:6379/);
});

test('PORT and HOST: used without flags, flags win, a bad PORT is a usage error', async (t) => {
  const fromEnv = new CliProcess(['serve', '--json'], { PORT: '0', HOST: '127.0.0.1' });
  t.after(() => fromEnv.kill('SIGKILL'));
  const listening = await fromEnv.nextJson({ event: 'listening' }, 20_000);
  assert.notEqual(listening.port, 3000, 'PORT=0 picked a free port');
  assert.equal(listening.host, '127.0.0.1');
  fromEnv.kill();

  const { cli, port } = await startServeProcess([], { PORT: '1' }); // --port 0 from the helper wins over PORT=1
  t.after(() => cli.kill('SIGKILL'));
  assert.notEqual(port, 1);
  cli.kill();

  const bad = await runCli(['serve'], '', { PORT: 'eighty' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /PORT must be a port number from 0 to 65535 \(got "eighty"\)/);
});

test('--adapter redis without --redis says which URL it uses', async (t) => {
  const cli = new CliProcess(['serve', '--port', '0', '--json', '--adapter', 'redis']);
  t.after(() => cli.kill('SIGKILL'));
  const notice = await cli.nextJson({ event: 'redis-url' });
  assert.equal(notice.url, 'redis://127.0.0.1:6379');
  cli.kill();
  const text = await runCli(['serve', '--port', '0', '--adapter', 'redis-streams', '--quiet', '--redis', 'redis://127.0.0.1:1']);
  assert.doesNotMatch(text.stdout + text.stderr, /without --redis/, 'no notice when the URL was given');
});

test('--tls-cert/--tls-key: the pages over https and Socket.IO over wss', async (t) => {
  const { cli, port } = await startServeProcess(['--tls-cert', certPath, '--tls-key', keyPath]);
  t.after(() => cli.kill('SIGKILL'));
  const listening = await cli.nextJson({ event: 'listening' });
  assert.equal(listening.url, `https://localhost:${port}`);

  const page = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path: '/', ca: cert, servername: 'localhost' }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve({ status: res.statusCode, body }));
    }).on('error', reject);
  });
  assert.equal(page.status, 200);
  assert.match(page.body, /<html/i);

  const client = connectClient(`https://localhost:${port}`, { ca: cert.toString(), transports: ['websocket'], reconnection: false });
  t.after(() => client.disconnect());
  await once(client, 'connect');
  const reply = await client.timeout(5000).emitWithAck('echo', 'over wss');
  assert.equal(reply, 'over wss');
  cli.kill();

  const half = await runCli(['serve', '--port', '0', '--tls-cert', certPath]);
  assert.equal(half.code, 2);
  assert.match(half.stderr, /--tls-cert and --tls-key go together/);
  const missing = await runCli(['serve', '--port', '0', '--tls-cert', '/nonexistent/cert.pem', '--tls-key', keyPath]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /cannot read --tls-cert "\/nonexistent\/cert\.pem": ENOENT/);
});

test('--dashboard-token-file: a token written once (mode 600) and read again at the next start', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-token-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'dashboard-token');
  const first = await startServeProcess(['--dashboard-token-file', file], { SWITCHBOARD_DASHBOARD_TOKEN: '' });
  first.cli.kill();
  await first.cli.exited;
  assert.equal(readFileSync(file, 'utf8').trim(), first.token);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const second = await startServeProcess(['--dashboard-token-file', file], { SWITCHBOARD_DASHBOARD_TOKEN: '' });
  t.after(() => second.cli.kill('SIGKILL'));
  assert.equal(second.token, first.token, 'the same token after a restart');
  second.cli.kill();

  const both = await runCli(['serve', '--port', '0', '--dashboard-token', 'x', '--dashboard-token-file', file]);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /choose one of --dashboard-token/);
});

test('connect: a hint to add --raw for a plain WebSocket server, to drop it for a Socket.IO server', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  t.after(() => wss.close());
  const wsPort = (wss.address() as { port: number }).port;
  const socketIoToPlain = await runCli(['connect', `http://127.0.0.1:${wsPort}`]);
  assert.equal(socketIoToPlain.code, 1);
  assert.match(socketIoToPlain.stderr, /connect error: .*426.*\(http:\/\/127\.0\.0\.1:\d+, namespace \/\).*add --raw/);

  const hub = await startTestHub();
  t.after(() => hub.close());
  const rawToSocketIo = await runCli(['connect', `ws://127.0.0.1:${hub.port}/`, '--raw']);
  assert.equal(rawToSocketIo.code, 1);
  assert.match(rawToSocketIo.stderr, /400.*\(ws:\/\/127\.0\.0\.1:\d+\/\).*drop --raw/);
  assert.match(rawToSocketIo.stderr, /closed: 1006 \(abnormal closure/);
});

test('connect --raw: the server\'s close code and reason, with what the code means', async (t) => {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await once(wss, 'listening');
  t.after(() => wss.close());
  wss.on('connection', (ws) => ws.on('message', () => ws.close(1008, 'no shouting')));
  const raw = new CliProcess(['connect', `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, '--raw']);
  t.after(() => raw.kill('SIGKILL'));
  raw.child.stdin.write('HELLO\n'); // input stays open: the server closes first
  const { code } = await raw.exited;
  assert.match(raw.stderr, /closed: 1008 no shouting \(policy violation\)\n/);
  assert.equal(code, 1, 'a close the client did not ask for, other than 1000/1001, is a failure');
});

test('connect: "upgraded" never follows "disconnected"', async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  // The server ends the session as soon as it connects: the upgrade probe may still complete.
  hub.io.of('/kick').on('connection', (socket) => socket.disconnect(true));
  for (let i = 0; i < 3; i++) {
    const run = await runCli(['connect', hub.base, '--namespace', '/kick']);
    const lines = run.stderr.split('\n');
    const gone = lines.findIndex((l) => l.startsWith('disconnected'));
    assert.ok(gone >= 0, run.stderr);
    assert.ok(!lines.slice(gone).some((l) => l.startsWith('upgraded')), run.stderr);
  }
});

test('connect, interactive: incoming lines are written above the prompt, not into it', async (t) => {
  const hub = await startTestHub();
  t.after(() => hub.close());
  const input = new PassThrough();
  const output = new PassThrough();
  let written = '';
  output.setEncoding('utf8').on('data', (chunk: string) => (written += chunk));
  const done = runConnect({
    url: hub.base, path: '/socket.io', raw: false, binary: false, json: false, ackTimeout: 5000,
    transport: 'websocket', input, output, errors: output, interactive: true,
  });
  while (!written.includes('> ')) await new Promise((resolve) => setTimeout(resolve, 20));
  input.write('typed so far'); // a line being typed, not yet sent
  hub.io.of('/').emit('news', 'hello');
  while (!written.includes('< news')) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 50));
  // Erase the prompt line, write the event on its own line, then draw the prompt with the typed text again.
  const escape = '(?:\\x1b\\[[0-9;]*[A-Za-z])*';
  assert.match(written, new RegExp(`\\x1b\\[2K\\x1b\\[1G< news "hello"\\n${escape}> ${escape}typed so far`));
  input.end('\nquit\n');
  assert.equal(await done, 0);
});
