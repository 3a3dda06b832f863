// docs/migrating-from-socket.io.md shows an Express + socket.io app and the same app on
// switchboard. Both files are here (test/docs/fixtures/migration/), the guide shows them as they
// are, they differ only in the import, and both pass the same test with the real socket.io-client.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { io as ioc, type Socket as ClientSocket } from 'socket.io-client';
import { createChatApp as before } from './fixtures/migration/before.js';
import { createChatApp as after } from './fixtures/migration/after.js';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
const beforeSource = read('./fixtures/migration/before.ts');
const afterSource = read('./fixtures/migration/after.ts');
const guide = read('../../docs/migrating-from-socket.io.md');

test('the guide shows both apps as they are, and they differ only in the import', () => {
  const blocks = [...guide.matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]);
  assert.ok(blocks.includes(beforeSource), 'the "before" app is in the guide');
  assert.ok(blocks.includes(afterSource), 'the "after" app is in the guide');
  const b = beforeSource.split('\n');
  const a = afterSource.split('\n');
  assert.equal(a.length, b.length);
  const changed = b.flatMap((line, i) => (line === a[i] ? [] : [[line, a[i]]]));
  assert.deepEqual(changed, [["import { Server } from 'socket.io';", "import { Server } from 'switchboard';"]]);
});

/** socket.io-client, waiting for the outcome of its connection attempt. */
function connect(url: string, auth: Record<string, unknown>): Promise<ClientSocket> {
  const socket = ioc(url, { auth, forceNew: true, reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

const next = <T extends unknown[]>(socket: ClientSocket, event: string) =>
  new Promise<T>((resolve) => socket.once(event, (...args: unknown[]) => resolve(args as T)));

for (const [name, createChatApp] of [['socket.io', before], ['switchboard', after]] as const) {
  describe(`the Express chat app on ${name}`, () => {
    test('HTTP routes, auth middleware, rooms, acks, broadcasts, CORS', async (t) => {
      const { httpServer, io } = createChatApp();
      await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      const clients: ClientSocket[] = [];
      t.after(async () => {
        for (const c of clients) c.close();
        await io.close();
      });
      const url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;

      assert.deepEqual(await (await fetch(`${url}/health`)).json(), { ok: true, connected: 0 });
      await assert.rejects(connect(url, {}), /name required/);

      const alice = await connect(url, { name: 'alice' });
      const bob = await connect(url, { name: 'bob' });
      clients.push(alice, bob);
      assert.equal(await alice.emitWithAck('join', 'lobby'), 1);
      assert.equal(await bob.emitWithAck('join', 'lobby'), 2);
      assert.deepEqual(await (await fetch(`${url}/health`)).json(), { ok: true, connected: 2 });

      let aliceHeardHerself = false;
      alice.on('said', () => (aliceHeardHerself = true));
      const heard = next<[string, string]>(bob, 'said');
      alice.emit('say', 'lobby', 'hi bob');
      assert.deepEqual(await heard, ['alice', 'hi bob']);

      const left = next<[string]>(alice, 'left');
      bob.close();
      assert.deepEqual(await left, ['bob']);
      assert.equal(aliceHeardHerself, false);

      // The page's origin is allowed for polling (CORS) in both.
      const polling = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'https://chat.example' } });
      assert.equal(polling.status, 200);
      assert.equal(polling.headers.get('access-control-allow-origin'), 'https://chat.example');
      await polling.text();
    });
  });
}
