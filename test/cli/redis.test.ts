// Two hubs scaled out over the real Redis at REDIS_URL (default 127.0.0.1:6379): chat crosses hubs, presence spans both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client';
import { REDIS_URL, redisSkip } from '../shared/redis.js';
import { once, startTestHub } from './helpers.js';

const skip = await redisSkip();

for (const adapter of ['redis', 'redis-streams'] as const) {
  test(`--adapter ${adapter}: a message sent on one hub reaches a client of another`, { skip }, async (t) => {
    const clients: ClientSocket[] = [];
    const one = await startTestHub({ adapter, redisUrl: REDIS_URL });
    const two = await startTestHub({ adapter, redisUrl: REDIS_URL });
    t.after(async () => {
      for (const c of clients) c.disconnect();
      await Promise.all([one.close(), two.close()]);
    });
    // Nodes learn their peers through Redis heartbeats; a request sent before that only asks the
    // nodes known so far, so wait until each hub sees the other.
    for (let tries = 0; ; tries++) {
      const counts = await Promise.all([one, two].map((h) => h.io.of('/chat').adapter.serverCount()));
      if (counts.every((n) => n === 2)) break;
      assert.ok(tries < 100, `hubs did not discover each other (server counts ${counts})`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const room = `scale-${adapter}-${process.pid}`;
    const join = async (base: string, nickname: string) => {
      const c = connectClient(`${base}/chat`, { auth: { nickname }, transports: ['websocket'], forceNew: true, reconnection: false });
      clients.push(c);
      await once(c, 'connect');
      return c;
    };
    const ada = await join(one.base, 'ada');
    const bob = await join(two.base, 'bob');
    await ada.timeout(5000).emitWithAck('join', room);
    const joined = await bob.timeout(5000).emitWithAck('join', room);
    assert.deepEqual(joined.members, ['ada', 'bob'], 'presence is cluster-wide');
    const got = once<[any]>(bob, 'message', 5000);
    const delivered = await ada.timeout(5000).emitWithAck('message', { room, text: `via ${adapter}` });
    assert.equal(delivered.ok, true);
    assert.equal((await got)[0].text, `via ${adapter}`);
  });
}
