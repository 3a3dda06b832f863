// Our Node client against another language's server: python-socketio 5.7.2 (Debian's
// python3-socketio, asyncio with aiohttp) in fixtures/python_server.py. Connect, events and acks
// both ways, binary, rooms, a refused namespace, heartbeats, over every transport configuration.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { io, type Socket } from '../../src/client/index.js';
import { pythonSkip, startPythonServer } from '../shared/python.js';
import { connected, once, sleep, transportMatrix, until } from './helpers.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/python_server.py', import.meta.url));
const skip = pythonSkip('socketio, aiohttp');

describe('switchboard/client against a python-socketio server', { skip }, () => {
  let server: Awaited<ReturnType<typeof startPythonServer>> | undefined;
  let url = '';
  before(async () => {
    server = await startPythonServer(SCRIPT);
    url = server.url;
  });
  after(() => server?.stop());

  for (const mode of transportMatrix) {
    test(`${mode.name}: events, acks both ways, binary, rooms`, async (t) => {
      const sockets: Socket[] = [];
      const open = (nsp = '/', opts: Record<string, unknown> = {}) => {
        const socket = io(url + nsp, { forceNew: true, reconnection: false, transports: mode.transports, ...opts });
        sockets.push(socket);
        return socket;
      };
      t.after(() => sockets.forEach((s) => s.disconnect()));

      const a = open('/', { auth: { name: 'ada' } });
      const welcome = once(a, 'welcome');
      a.on('question', (q: string, ack: (answer: string) => void) => ack(`answer to ${q}`));
      await connected(a);
      const [hello] = await welcome;
      assert.deepEqual(hello.auth, { name: 'ada' });
      assert.equal(typeof hello.sid, 'string');

      // python-socketio acknowledges with a tuple: one argument per element.
      const bytes = new Uint8Array([0, 1, 254, 255]);
      const echoed = await new Promise<unknown[]>((resolve, reject) =>
        a.timeout(5000).emit('echo', 'héllo ✓', bytes, { nested: [bytes.subarray(1, 3)] }, (err: Error | null, ...args: unknown[]) =>
          err ? reject(err) : resolve(args),
        ),
      );
      assert.deepEqual(echoed, ['héllo ✓', Buffer.from(bytes), { nested: [Buffer.from([1, 254])] }]);
      assert.equal(await a.timeout(5000).emitWithAck('ask', 'life'), 'answer to life');

      const b = open();
      await connected(b);
      assert.equal(await a.timeout(5000).emitWithAck('join', 'room 1'), 'room 1');
      const heard = once(a, 'shout');
      let bHeard = false;
      b.on('shout', () => (bHeard = true));
      b.emit('shout', 'room 1', 'hi');
      assert.deepEqual(await heard, ['hi']);
      assert.equal(bHeard, false, 'b is not in the room');

      if (mode.transports.length === 2) await until(() => a.io.engine.transport.name === 'websocket', 5000, 'the upgrade');

      // A namespace whose connect handler refuses: connect_error with the server's data.
      const refused = open('/admin', { auth: { token: 'nope' } });
      const [err] = await once(refused, 'connect_error', 5000);
      assert.equal(err.message, 'bad token');
      assert.deepEqual(err.data, { reason: 'token' });
      const admin = open('/admin', { auth: { token: 'py' } });
      await connected(admin);
      assert.equal(await admin.timeout(5000).emitWithAck('whoami'), 'admin');

      // The server pings every 0.5 s and gives up 2 s after an unanswered one: outliving that
      // window shows this client answers (once, over the WebSocket-only configuration).
      if (mode.transports.length === 1 && mode.transports[0] === 'websocket') {
        await sleep(2800);
        assert.equal(a.connected, true);
        assert.equal(await a.timeout(5000).emitWithAck('join', 'still here'), 'still here');
      }
    });
  }
});
