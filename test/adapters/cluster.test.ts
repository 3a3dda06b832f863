import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { setupPrimary, stickySessionId, workerIdOfSession } from '../../src/adapters/cluster.js';
import { redisSkip } from '../shared/redis.js';
import { uniquePrefix, until } from './helpers.js';

const fixture = fileURLToPath(new URL('./fixtures/sticky-cluster.ts', import.meta.url));

interface Cluster {
  port: number;
  child: ChildProcess;
  lines: string[];
}

async function startCluster(env: Record<string, string>): Promise<Cluster> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  after(() => {
    child.stdin!.end();
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  });
  const lines: string[] = [];
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`cluster exited early (${code})`)));
    child.stdout!.on('data', (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        if (line.startsWith('port ')) resolve(Number(line.slice(5)));
      }
    });
  });
  return { port, child, lines };
}

interface Session {
  worker: number;
  sid: string;
  echoes: number[];
}

async function runSession(port: number, transports: string[], echoes: number): Promise<Session> {
  const socket: ClientSocket = connect(`http://127.0.0.1:${port}`, {
    transports,
    reconnection: false,
    forceNew: true,
  });
  try {
    const [worker, sid] = await new Promise<[number, string]>((resolve, reject) => {
      socket.once('hello', (w: number, s: string) => resolve([w, s]));
      socket.once('connect_error', reject);
    });
    const seen: number[] = [];
    for (let i = 0; i < echoes; i++) {
      const [value, from] = await socket.timeout(5000).emitWithAck('echo', i);
      assert.equal(value, i);
      seen.push(from);
    }
    return { worker, sid, echoes: seen };
  } finally {
    socket.disconnect();
  }
}

for (const impl of ['socket.io', 'switchboard']) {
  for (const balancing of ['least-connections', 'round-robin']) {
    test(`sticky cluster (${impl}, ${balancing}): polling sessions stay on their worker`, async () => {
      const { port } = await startCluster({ IMPL: impl, BALANCING: balancing, WORKERS: '2' });
      const sessions = await Promise.all(Array.from({ length: 12 }, () => runSession(port, ['polling'], 4)));
      for (const s of sessions) {
        assert.match(s.sid, /^w\d+\./, 'session ids carry the worker id');
        assert.equal(workerIdOfSession(`GET /?sid=${s.sid} HTTP/1.1`), s.worker);
        assert.deepEqual(s.echoes, [s.worker, s.worker, s.worker, s.worker]);
      }
      const perWorker = new Set(sessions.map((s) => s.worker));
      assert.equal(perWorker.size, 2, 'new sessions are spread over both workers');
    });
  }
  test(`sticky cluster (${impl}): polling then websocket upgrade`, async () => {
    const { port } = await startCluster({ IMPL: impl, WORKERS: '2' });
    const sessions = await Promise.all(Array.from({ length: 6 }, () => runSession(port, ['polling', 'websocket'], 3)));
    for (const s of sessions) assert.deepEqual(s.echoes, [s.worker, s.worker, s.worker]);
    const ws = await runSession(port, ['websocket'], 2);
    assert.deepEqual(ws.echoes, [ws.worker, ws.worker]);
  });
}

test('multi-core: switchboard workers behind the sticky primary share broadcasts through Redis (polling clients)', { skip: await redisSkip() }, async () => {
  const { port } = await startCluster({ IMPL: 'switchboard', WORKERS: '2', REDIS_PREFIX: uniquePrefix('sticky') });
  const clients: ClientSocket[] = [];
  after(() => clients.forEach((c) => c.disconnect()));
  const workers = new Set<number>();
  for (let i = 0; i < 6; i++) {
    const c = connect(`http://127.0.0.1:${port}`, { transports: ['polling'], reconnection: false, forceNew: true });
    workers.add(await new Promise<number>((resolve, reject) => {
      c.once('hello', resolve);
      c.once('connect_error', reject);
    }));
    clients.push(c);
  }
  assert.equal(workers.size, 2);
  const got = clients.map(() => [] as unknown[][]);
  clients.forEach((c, i) => c.on('shouted', (...args: unknown[]) => got[i]!.push(args)));
  clients[0]!.emit('shout', 'hey');
  await until(() => got.every((g) => g.length === 1), 'the broadcast to reach the polling clients of both workers');
});

/** One HTTP exchange over a raw connection, `parts` written `gapMs` apart; resolves with the response (or what came before `timeoutMs`). */
function rawExchange(port: number, parts: string[], gapMs: number, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(got);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('error', finish);
    socket.on('data', (chunk) => {
      got += chunk;
      const end = got.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(got);
      if (end >= 0 && length && got.length - end - 4 >= Number(length[1])) finish();
    });
    socket.on('connect', async () => {
      for (const part of parts) {
        socket.write(part);
        await new Promise((r) => setTimeout(r, gapMs));
      }
    });
  });
}

test('sticky primary: bytes that follow the request line in a later packet reach the worker', async () => {
  // The primary routes on the request line alone; what the client sends after it must not be
  // read (and dropped) by the primary while the worker takes the connection over.
  const { port } = await startCluster({ IMPL: 'switchboard', WORKERS: '2' });
  const lost: number[] = [];
  for (let i = 0; i < 30; i++) {
    const handshake = await rawExchange(port, ['GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n'], 0);
    const sid = /"sid":"([^"]+)"/.exec(handshake)?.[1];
    assert.ok(sid, `handshake ${i}: ${handshake.slice(0, 80)}`);
    const post = await rawExchange(port, [
      `POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\n`,
      'Host: x\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 2\r\n\r\n40',
    ], 1);
    if (!/^HTTP\/1\.1 200[^]*\r\n\r\nok$/.test(post)) lost.push(i);
  }
  assert.deepEqual(lost, [], 'every request whose head came in two packets was answered');
});

test('sticky cluster control: without routable session ids, polling sessions break', async () => {
  const { port } = await startCluster({ BALANCING: 'round-robin', WORKERS: '2', UNTAGGED: '1' });
  const results = await Promise.allSettled(Array.from({ length: 4 }, () => runSession(port, ['polling'], 4)));
  assert.ok(results.some((r) => r.status === 'rejected'), 'at least one session must fail without stickiness');
});

test('sticky ids: worker id parsing only trusts the w<id>. form', () => {
  assert.match(stickySessionId(7), /^w7\.[A-Za-z0-9_-]{20}$/);
  assert.notEqual(stickySessionId(7), stickySessionId(7));
  assert.equal(workerIdOfSession('GET /socket.io/?EIO=4&transport=polling&sid=w12.abc HTTP/1.1'), 12);
  assert.equal(workerIdOfSession('GET /socket.io/?sid=w3.x&EIO=4 HTTP/1.1'), 3);
  assert.equal(workerIdOfSession('GET /socket.io/?EIO=4&transport=polling HTTP/1.1'), undefined);
  assert.equal(workerIdOfSession('GET /socket.io/?EIO=4&sid=abcdef HTTP/1.1'), undefined);
  assert.equal(workerIdOfSession('GET /socket.io/?EIO=4&xsid=w1.abc HTTP/1.1'), undefined);
});

async function rawPrimary(options: Parameters<typeof setupPrimary>[1]) {
  const server = setupPrimary(net.createServer(), { workers: () => [], ...options });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

async function exchange(port: number, data: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(data);
  let reply = '';
  socket.on('data', (chunk) => (reply += chunk));
  socket.on('error', () => {});
  await once(socket, 'close');
  return reply;
}

test('sticky primary: a request line longer than maxHeadBytes is refused (414)', async () => {
  const port = await rawPrimary({ maxHeadBytes: 1024 });
  const reply = await exchange(port, 'GET /?' + 'a'.repeat(4000));
  assert.match(reply, /^HTTP\/1.1 414/);
});

test('sticky primary: a silent connection is closed after headTimeout', async () => {
  const port = await rawPrimary({ headTimeout: 100 });
  const reply = await exchange(port, 'GET /socket.io/?EIO=4'); // no end of line, then silence
  assert.equal(reply, '');
});

test('sticky primary: no live worker answers 503', async () => {
  const port = await rawPrimary({});
  const reply = await exchange(port, 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(reply, /^HTTP\/1.1 503/);
});
