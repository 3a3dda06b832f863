// `switchboard serve` as a real process: start it, talk to it, stop it with SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { once, runCli, startServeProcess } from './helpers.js';

test('serve: clients exchange events, connections are logged, SIGTERM closes everyone and exits 0', async (t) => {
  const { cli, url, token } = await startServeProcess([], { SWITCHBOARD_DASHBOARD_TOKEN: '' });
  t.after(() => cli.kill('SIGKILL'));
  assert.match(token, /^[\w-]{20,}$/);
  const listening = await cli.nextJson({ event: 'listening' });
  assert.equal(listening.adapter, 'memory');
  assert.match(listening.dashboard, /\/dashboard#token=/);

  const a: ClientSocket = connectClient(`${url}/chat`, { auth: { nickname: 'ada' }, reconnection: false });
  const b: ClientSocket = connectClient(`${url}/chat`, { auth: { nickname: 'bob' }, reconnection: false, transports: ['websocket'] });
  t.after(() => { a.disconnect(); b.disconnect(); });
  await Promise.all([once(a, 'connect'), once(b, 'connect')]);
  await a.timeout(3000).emitWithAck('join', 'lobby');
  await b.timeout(3000).emitWithAck('join', 'lobby');
  const got = once<[any]>(b, 'message');
  const delivered = await a.timeout(3000).emitWithAck('message', { room: 'lobby', text: 'over the wire' });
  assert.equal(delivered.ok, true);
  assert.equal((await got)[0].text, 'over the wire');

  const bId = b.id;
  const logged = await cli.nextJson({ event: 'connect', id: bId });
  assert.equal(logged.nsp, '/chat');
  assert.equal(logged.transport, 'websocket');
  assert.equal(logged.address, '127.0.0.1');

  const aClosed = once<[string]>(a, 'disconnect');
  const bClosed = once<[string]>(b, 'disconnect');
  cli.kill('SIGTERM');
  const [{ code, signal }, [aReason], [bReason]] = await Promise.all([cli.exited, aClosed, bClosed]);
  assert.equal(signal, null);
  assert.equal(code, 0, cli.stderr);
  // The server closed the namespace sockets (or the transport) itself: no ping timeout, no hang.
  assert.ok(['io server disconnect', 'transport close'].includes(aReason), aReason);
  assert.ok(['io server disconnect', 'transport close'].includes(bReason), bReason);
  const events = cli.jsonLines().map((l) => l.event);
  assert.ok(events.includes('shutdown'));
  assert.equal(events.at(-1), 'stopped');
  assert.ok(cli.jsonLines().some((l) => l.event === "disconnect" && l.id === bId && l.reason === "server shutting down"), cli.stdout);
});

test('serve: SIGINT also stops gracefully; --quiet mutes connection logs but prints the URL', async (t) => {
  const { cli, url } = await startServeProcess(['--dashboard-token', 'tok-123']);
  t.after(() => cli.kill('SIGKILL'));
  const ready = await cli.nextJson({ event: 'listening' });
  assert.equal(ready.token, 'tok-123');
  cli.kill('SIGINT');
  assert.equal((await cli.exited).code, 0);

  const { CliProcess } = await import('./helpers.js');
  const quiet = new CliProcess(['serve', '--port', '0', '--quiet']);
  t.after(() => quiet.kill('SIGKILL'));
  const line = await quiet.next((l) => l.includes('listening on'));
  const port = Number(/:(\d+)/.exec(line)![1]);
  await quiet.next((l) => l.includes('dashboard:'));
  const c = connectClient(`http://127.0.0.1:${port}`, { reconnection: false });
  await once(c, 'connect');
  c.disconnect();
  await new Promise((r) => setTimeout(r, 200));
  quiet.kill('SIGTERM');
  assert.equal((await quiet.exited).code, 0);
  assert.doesNotMatch(quiet.stdout, /connect id=/);
  assert.doesNotMatch(url, /undefined/);
});

test('serve: text logs show connection id, namespace, transport and address', async (t) => {
  const { CliProcess } = await import('./helpers.js');
  const cli = new CliProcess(['serve', '--port', '0']);
  t.after(() => cli.kill('SIGKILL'));
  const line = await cli.next((l) => l.includes('listening on'));
  const port = Number(/:(\d+)/.exec(line)![1]);
  const c = connectClient(`http://127.0.0.1:${port}/chat`, { auth: { nickname: 'tess' }, reconnection: false, transports: ['polling'] });
  await once(c, 'connect');
  const logged = await cli.next((l) => l.includes(`connect id=${c.id}`));
  assert.match(logged, /nsp=\/chat address=127\.0\.0\.1 transport=polling/);
  c.disconnect();
  await cli.next((l) => l.includes('disconnect id=') && l.includes('reason="client namespace disconnect"'));
  cli.kill('SIGTERM');
  assert.equal((await cli.exited).code, 0);
});

test('help: top-level and per command', async () => {
  const top = await runCli(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /switchboard serve/);
  assert.match(top.stdout, /switchboard connect/);
  const serve = await runCli(['serve', '--help']);
  assert.equal(serve.code, 0);
  for (const flag of ['--port', '--host', '--path', '--cors-origin', '--redis', '--adapter', '--quiet', '--json', '--dashboard-token', '--trust-proxy']) assert.match(serve.stdout, new RegExp(flag));
  const connect = await runCli(['help', 'connect']);
  assert.equal(connect.code, 0);
  for (const flag of ['--namespace', '--auth', '--transport', '--raw']) assert.match(connect.stdout, new RegExp(flag));
  assert.match((await runCli(['--version'])).stdout, /^\d+\.\d+\.\d+\n$/);
});

test('clear errors: bad flags (2), port in use (1), unreachable Redis (1)', async (t) => {
  const bad = await runCli(['serve', '--port', 'eighty']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--port must be a port number/);
  assert.match(bad.stderr, /switchboard serve --help/);
  assert.equal((await runCli(['serve', '--adapter', 'mongo'])).code, 2);
  assert.match((await runCli(['serve', '--redis', 'http://x'])).stderr, /redis:\/\//);
  assert.match((await runCli(['frobnicate'])).stderr, /unknown command "frobnicate"/);
  assert.match((await runCli(['connect'])).stderr, /needs a URL/);

  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  t.after(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const inUse = await runCli(['serve', '--port', String(port)]);
  assert.equal(inUse.code, 1);
  assert.match(inUse.stderr, new RegExp(`port ${port} is already in use`));

  const redis = await runCli(['serve', '--port', '0', '--redis', 'redis://127.0.0.1:1']);
  assert.equal(redis.code, 1);
  assert.match(redis.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
  const secret = await runCli(['serve', '--port', '0', '--adapter', 'redis-streams', '--redis', 'redis://user:hunter2@127.0.0.1:1']);
  assert.equal(secret.code, 1);
  assert.doesNotMatch(secret.stderr, /hunter2/);
});
