import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { StreamReader } from '../../src/adapters/redis/stream-reader.js';
import type { RedisAdapterError } from '../../src/adapters/redis/errors.js';
import type { RedisCommandClient, StreamEntry } from '../../src/adapters/redis/redis-client.js';
import { REDIS_URL, uniquePrefix, until } from './helpers.js';

const client = createClient({ url: REDIS_URL });
await client.connect();
const keys: string[] = [];
after(async () => {
  if (keys.length) await client.del(keys);
  await client.close();
});

function reader(key: string, seen: StreamEntry[], errors: RedisAdapterError[], connection = client.duplicate()) {
  return new StreamReader(connection as unknown as RedisCommandClient, {
    key,
    field: 'm',
    readCount: 10,
    blockMs: 100,
    onEntries: (entries) => seen.push(...entries),
    onError: (err) => errors.push(err),
    onHealthy: () => {},
  });
}

test('stream reader: starts after the current tail, then delivers every new entry in order', async () => {
  const key = uniquePrefix('reader');
  keys.push(key);
  await client.sendCommand(['XADD', key, '*', 'm', 'old']);
  const seen: StreamEntry[] = [];
  const r = reader(key, seen, []);
  await r.start();
  after(() => r.stop());
  for (let i = 0; i < 35; i++) await client.sendCommand(['XADD', key, '*', 'm', Buffer.from([i, 255])]);
  await until(() => seen.length === 35, 'all entries');
  assert.deepEqual(seen.map((e) => e.payload[0]), Array.from({ length: 35 }, (_, i) => i));
  assert.equal(r.lastId, seen[34]!.id);
});

test('stream reader: reports entries trimmed before it read them, and restarts on a recreated stream', async () => {
  const key = uniquePrefix('reader-gap');
  keys.push(key);
  const first = String(await client.sendCommand(['XADD', key, '*', 'm', 'x']));
  const errors: RedisAdapterError[] = [];
  const connection = client.duplicate();
  await connection.connect();
  after(() => connection.destroy());
  const r = reader(key, [], errors, connection); // not started: resync() is driven by hand
  for (let i = 0; i < 50; i++) await client.sendCommand(['XADD', key, 'MAXLEN', '5', '*', 'm', 'y']);
  r.lastId = first;
  await (r as unknown as { resync(): Promise<void> }).resync();
  assert.equal(errors[0]?.code, 'MESSAGES_LOST');
  assert.equal(r.lastId, first, 'still reads what is left');

  r.lastId = '99999999999999-0'; // newer than anything in the stream: it was recreated
  await (r as unknown as { resync(): Promise<void> }).resync();
  assert.equal(r.lastId, '0-0');
  await client.del(key);
  r.lastId = first;
  await (r as unknown as { resync(): Promise<void> }).resync();
  assert.equal(r.lastId, '0-0', 'a missing stream is read from the start once it exists again');
});
