// The Redis session router against a real Redis: where nodes are, kept with an expiry.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import { createClient } from 'redis';
import { createSessionRouter } from '../../src/adapters/redis/index.js';
import { redisSkip, REDIS_URL } from '../shared/redis.js';
import { deleteKeys, uniquePrefix } from './helpers.js';

const skip = await redisSkip();

describe('Redis session router', { skip }, () => {
  test('a node registers its address with an expiry, others find it, and it is removed at close', async (t) => {
    const prefix = uniquePrefix('router');
    const redis = createClient({ url: REDIS_URL });
    await redis.connect();
    t.after(async () => {
      await deleteKeys(prefix);
      await redis.close();
    });
    const server = http.createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => server.close());
    const port = (server.address() as import('node:net').AddressInfo).port;

    const a = createSessionRouter(redis, { key: prefix, nodeId: 'a', ttl: 3000 });
    const b = createSessionRouter(redis, { key: prefix, nodeId: 'b', address: 'http://10.1.2.3:4000/ignored/path' });
    await a.register({ httpServer: server }); // the address the server listens on
    await b.register({});
    assert.equal(await redis.get(`${prefix}:node:a`), `http://127.0.0.1:${port}`);
    const ttl = await redis.pTTL(`${prefix}:node:a`);
    assert.ok(ttl > 0 && ttl <= 3000, `expiry ${ttl}`);
    assert.equal(await a.locate('b'), 'http://10.1.2.3:4000');
    assert.equal(await b.locate('a'), `http://127.0.0.1:${port}`);
    assert.equal(await b.locate('nobody'), undefined);

    // Cached: a changed key is not read again until the address is forgotten.
    await redis.set(`${prefix}:node:b`, 'http://10.9.9.9:1');
    assert.equal(await a.locate('b'), 'http://10.1.2.3:4000');
    a.forget('b', 'http://10.1.2.3:4000');
    assert.equal(await a.locate('b'), 'http://10.9.9.9:1');

    a.close();
    b.close();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await redis.get(`${prefix}:node:a`), null);
  });

  test('a server listening on every interface needs an explicit address', async (t) => {
    const redis = createClient({ url: REDIS_URL });
    t.after(() => (redis.isOpen ? redis.close() : undefined));
    const server = http.createServer();
    server.listen(0, '0.0.0.0');
    await once(server, 'listening');
    t.after(() => server.close());
    const router = createSessionRouter(redis, { key: uniquePrefix('router') });
    await assert.rejects(Promise.resolve().then(() => router.register({ httpServer: server })), /pass `address`/);
    await assert.rejects(Promise.resolve().then(() => createSessionRouter(redis, { address: 'https://x:1' }).register({})), /http:\/\/host:port/);
    router.close();
  });
});
