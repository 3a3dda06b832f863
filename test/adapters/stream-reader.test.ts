import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { StreamReader } from '../../src/adapters/redis/stream-reader.js';
import type { RedisAdapterError } from '../../src/adapters/redis/errors.js';
import type { RedisCommandClient, StreamEntry } from '../../src/adapters/redis/redis-client.js';
import { REDIS_URL, redisSkip } from '../shared/redis.js';
import { uniquePrefix, until } from './helpers.js';

const skip = await redisSkip();
const client = createClient({ url: REDIS_URL });
if (!skip) await client.connect();
const keys: string[] = [];
after(async () => {
  if (skip) return;
  if (keys.length) await client.del(keys);
  await client.close();
});

/** The reader's private position, driven by hand where a test needs a stream state. */
interface ReaderState {
  addedThroughLast: number | undefined;
  resync(): Promise<void>;
}

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

test('stream reader: starts after the current tail, then delivers every new entry in order', { skip }, async () => {
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

test('stream reader: reports entries trimmed before it read them, and restarts on a recreated stream', { skip }, async () => {
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
  (r as unknown as ReaderState).addedThroughLast = 1; // it had read `first`, the stream's only entry
  await (r as unknown as ReaderState).resync();
  assert.equal(errors[0]?.code, 'MESSAGES_LOST');
  assert.match(errors[0]!.message, / 45 entries after /, '51 added, 5 left, 1 read: 45 removed unread');
  assert.equal(r.lastId, first, 'still reads what is left');

  r.lastId = '99999999999999-0'; // newer than anything in the stream: it was recreated
  await (r as unknown as ReaderState).resync();
  assert.equal(r.lastId, '0-0');
  await client.del(key);
  r.lastId = first;
  await (r as unknown as ReaderState).resync();
  assert.equal(r.lastId, '0-0', 'a missing stream is read from the start once it exists again');
});

test('stream reader: trimming up to its own last entry is no loss; one entry further is, counted once', { skip }, async () => {
  const key = uniquePrefix('reader-boundary');
  keys.push(key);
  await client.sendCommand(['XADD', key, '*', 'm', 'before']);
  const seen: StreamEntry[] = [];
  const errors: RedisAdapterError[] = [];
  const r = reader(key, seen, errors);
  await r.start();
  after(() => r.stop());
  const ids: string[] = [];
  for (let i = 0; i < 10; i++) ids.push(String(await client.sendCommand(['XADD', key, '*', 'm', `e${i}`])));
  await until(() => seen.length === 10, 'ten entries');
  assert.equal((r as unknown as ReaderState).addedThroughLast, 11, 'the one entry before start plus ten read');
  await r.stop();

  // From here a reader's position is set by hand, as after a reconnect: it had got to e4, and
  // entries up to e4 are 6 of those ever added.
  const connection2 = client.duplicate();
  await connection2.connect();
  after(() => connection2.destroy());
  const behind = reader(key, [], errors, connection2);
  const state = behind as unknown as ReaderState;
  behind.lastId = ids[4]!;
  state.addedThroughLast = 6;
  await client.sendCommand(['XTRIM', key, 'MAXLEN', '5']); // removes `before` and e0..e4: its own last entry
  await state.resync();
  assert.equal(errors.length, 0, 'the first entry left (e5) is the next one it would read: nothing lost');

  await client.sendCommand(['XTRIM', key, 'MAXLEN', '3']); // also removes e5 and e6, which it had not read
  await state.resync();
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'MESSAGES_LOST');
  assert.match(errors[0]!.message, / 2 entries after /);
  await state.resync();
  assert.equal(errors.length, 1, 'a loss is reported once');
});
