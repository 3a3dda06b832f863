// Interop with another language's client: python-socketio (Debian's python3-socketio 5.7.2, sync
// client) connects to our server unchanged, over polling, websocket, and polling upgraded to
// websocket. The scenario lives in fixtures/python_client.py; this side serves it and checks what
// both ends saw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { setup, until } from './helpers.js';
import { pythonSkip, runPython } from '../shared/python.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/python_client.py', import.meta.url));
const ASYNC_SCRIPT = fileURLToPath(new URL('./fixtures/python_async_client.py', import.meta.url));
const skip = pythonSkip('socketio, websocket, requests');
const asyncSkip = pythonSkip('socketio, aiohttp');

const TOKEN = 'py-secret';
const HEARTBEAT_WAIT_S = 1.5; // more than pingInterval + pingTimeout below: only answered pings keep the session

const hex = (bytes: number[]) => ({ hex: Buffer.from(bytes).toString('hex') });

for (const mode of ['polling', 'websocket', 'upgrade'] as const) {
  test(`python-socketio client over ${mode}`, { skip }, async (t) => {
    const h = await setup(t, { pingInterval: 150, pingTimeout: 1000 });
    const greetAnswers: unknown[][] = [];
    const disconnects: string[] = [];
    const transports = new Set<string>();

    h.io.of('/custom').use((socket, next) => {
      if (socket.handshake.auth.token === TOKEN) return next();
      next(Object.assign(new Error('bad token'), { data: { hint: 'ask for a token' } }));
    });
    h.io.of('/custom').on('connection', (socket) => {
      socket.on('whoami', (ack) => ack({ token: socket.handshake.auth.token, nsp: socket.nsp.name }));
      socket.on('disconnect', (reason) => disconnects.push(`/custom ${reason}`));
    });
    // python-socketio upgrades right after the open packet, before any namespace connects.
    h.io.engine!.on('connection', (session) => {
      transports.add(session.transport.name);
      session.on('upgrade', () => transports.add(session.transport.name));
    });
    h.io.on('connection', (socket) => {
      socket.on('echo', (...args) => {
        const ack = args.pop();
        ack(...args);
      });
      socket.on('join', (room: string) => {
        socket.join(room);
        h.io.to(room).emit('news', `for ${room}`, Buffer.from([7]));
      });
      socket.on('disconnect', (reason) => disconnects.push(`/ ${reason}`));
      socket.timeout(5000).emit('greet', 'welcome', Buffer.from([1, 2]), (err: Error | null, ...answer: unknown[]) => {
        greetAnswers.push(err ? [err.message] : answer);
      });
    });

    const steps = await runPython(SCRIPT, [h.url, mode, TOKEN, String(HEARTBEAT_WAIT_S)]);
    const step = (name: string) => {
      const found = steps[name];
      assert.ok(found, `python reported no '${name}' step; it printed ${JSON.stringify(steps)}`);
      return found;
    };

    // CONNECT_ERROR from namespace middleware reaches the python client with its message and data.
    assert.equal(step('refused').connected, false);
    assert.deepEqual(step('refused').data, [{ message: 'bad token', data: { hint: 'ask for a token' } }]);

    const [rootSid, customSid] = step('connected').sids;
    assert.match(rootSid, /^[\w-]{20}$/);
    assert.match(customSid, /^[\w-]{20}$/);
    assert.notEqual(rootSid, customSid, 'one id per namespace (Socket.IO v5)');
    assert.equal(step('transport').name, mode === 'polling' ? 'polling' : 'websocket');
    if (mode === 'upgrade') assert.deepEqual([...transports], ['polling', 'websocket']);

    // Binary anywhere in the arguments, both ways, and acks in both directions.
    assert.deepEqual(step('echo').args, ['héllo', hex([0, 1, 0xff]), { n: 1, nested: [hex([2])] }]);
    assert.deepEqual(step('whoami').answer, { token: TOKEN, nsp: '/custom' });
    assert.deepEqual(step('greet').args, [['welcome', hex([1, 2])]]);
    assert.deepEqual(greetAnswers.map((a) => a.map((x) => (Buffer.isBuffer(x) ? [...x] : x))), [['thanks', [0xca, 0xfe]]]);
    assert.deepEqual(step('news').args, [['for py-room', hex([7])]]);

    // Heartbeats: the session outlived pingInterval + pingTimeout several times over.
    assert.deepEqual(step('after-heartbeats'), { step: 'after-heartbeats', connected: true, echo: 'still here' });
    step('done');

    await until(() => disconnects.length === 2, 5000);
    // Over polling, python-engineio 4.3's disconnect() queues DISCONNECT and close, then flips its
    // state so the writer thread may exit without sending them: the server then sees the client
    // vanish and ends the session by ping timeout, the right reason for a silent peer.
    const reasons = mode === 'polling' ? 'client namespace disconnect|transport close|ping timeout' : 'client namespace disconnect|transport close';
    for (const d of disconnects) assert.match(d, new RegExp(`^/(custom)? (${reasons})$`));
    assert.equal(h.io.engine!.clientsCount, 0);
  });
}

for (const mode of ['polling', 'websocket', 'upgrade'] as const) {
  test(`python-socketio asyncio client (aiohttp) over ${mode}`, { skip: asyncSkip }, async (t) => {
    const h = await setup(t);
    const greetAnswers: unknown[] = [];
    h.io.on('connection', (socket) => {
      socket.on('echo', (...args) => {
        const ack = args.pop();
        ack(...args);
      });
      socket.timeout(5000).emit('greet', 'welcome', Buffer.from([9]), (err: Error | null, answer: unknown) => greetAnswers.push(err ? err.message : answer));
    });
    const { done } = await runPython(ASYNC_SCRIPT, [h.url, mode]);
    assert.equal(done!.transport, mode === 'polling' ? 'polling' : 'websocket');
    assert.deepEqual(done!.echo, ['héllo ✓', hex([0, 0xff])]);
    assert.deepEqual(done!.greet, ['welcome', hex([9])]);
    assert.deepEqual(greetAnswers, ['thanks']);
  });
}
