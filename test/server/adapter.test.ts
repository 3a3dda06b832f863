import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Timeouts } from '../../src/server/timeouts.js';
import { Server, Adapter } from '../../src/server/index.js';
import { delay, until } from './helpers.js';

test('in-memory adapter: rooms, sids, events, sockets() and socketRooms()', async () => {
  const io = new Server();
  const adapter = io.sockets.adapter;
  const events: string[] = [];
  for (const ev of ['create-room', 'delete-room', 'join-room', 'leave-room']) adapter.on(ev, (room: string, id?: string) => events.push([ev, room, id].filter(Boolean).join(':')));
  await adapter.addAll('s1', new Set(['a', 'b']));
  await adapter.addAll('s2', new Set(['b']));
  assert.deepEqual([...adapter.rooms.get('b')!], ['s1', 's2']);
  assert.deepEqual([...adapter.socketRooms('s1')!], ['a', 'b']);
  await adapter.del('s1', 'a');
  adapter.delAll('s2');
  adapter.delAll('unknown');
  assert.deepEqual(events, ['create-room:a', 'join-room:a:s1', 'create-room:b', 'join-room:b:s1', 'join-room:b:s2', 'leave-room:a:s1', 'delete-room:a', 'leave-room:b:s2']);
  assert.equal(await adapter.serverCount(), 1);
  assert.equal(adapter instanceof Adapter, true);
  await io.close();
});

test('recovery store: only sessions within maxDisconnectionDuration and only packets for their rooms', async () => {
  const io = new Server({ connectionStateRecovery: { maxDisconnectionDuration: 1000 } });
  const adapter = io.sockets.adapter;
  // packets are stored (with an offset appended) even without recipients
  const mk = (n: number) => ({ type: 2, nsp: '/', data: ['n', n] as unknown[] });
  const first = mk(0);
  adapter.broadcast(first, { rooms: new Set() });
  const offset = first.data[2] as string;
  assert.equal(typeof offset, 'string');
  adapter.broadcast(mk(1), { rooms: new Set(['r1']) });
  adapter.broadcast(mk(2), { rooms: new Set(['r2']) });
  adapter.broadcast(mk(3), { rooms: new Set(), except: new Set(['r1']) });
  adapter.broadcast(mk(4), { rooms: new Set(), flags: { volatile: true } });
  adapter.broadcast({ ...mk(5), id: 1 }, { rooms: new Set() }); // with ack: not stored
  adapter.broadcast(mk(6), { rooms: new Set() });
  await adapter.persistSession({ sid: 's', pid: 'p', rooms: ['s', 'r1'], data: { x: 1 } });
  const session = await adapter.restoreSession('p', offset);
  assert.deepEqual(session?.missedPackets.map((d) => d[1]), [1, 6]);
  assert.deepEqual(session?.data, { x: 1 });
  assert.equal(await adapter.restoreSession('p', offset), null, 'once');
  await io.close();
});

test('Timeouts: one timer per duration, cancel, order, callbacks scheduling more', async () => {
  const timeouts = new Timeouts();
  const fired: string[] = [];
  timeouts.schedule(300, () => fired.push('a'));
  const b = timeouts.schedule(300, () => fired.push('b'));
  timeouts.schedule(10, () => {
    fired.push('c');
    timeouts.schedule(10, () => fired.push('d'));
  });
  b.cancel();
  await until(() => fired.length === 3);
  await delay(20);
  assert.deepEqual(fired, ['c', 'd', 'a']);
  timeouts.schedule(10, () => fired.push('never'));
  timeouts.clear();
  await delay(30);
  assert.deepEqual(fired, ['c', 'd', 'a']);
});

test('Timeouts: a throwing callback does not stop the others', async () => {
  const timeouts = new Timeouts();
  const fired: number[] = [];
  const errors: unknown[] = [];
  process.setUncaughtExceptionCaptureCallback((e) => errors.push(e));
  try {
    timeouts.schedule(5, () => {
      throw new Error('x');
    });
    timeouts.schedule(5, () => fired.push(1));
    await delay(60);
  } finally {
    process.setUncaughtExceptionCaptureCallback(null);
  }
  assert.equal(errors.length, 1);
  assert.deepEqual(fired, [1]);
});

test('maxAttachments is a server option: its decoders refuse more', async () => {
  const io = new Server({ maxAttachments: 2 });
  const decoder = io._codec.createDecoder();
  assert.equal(decoder.add('52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'), null, 'waits for 2 attachments');
  decoder.reset();
  assert.throws(() => decoder.add('53-["e"]'), { code: 'TOO_MANY_ATTACHMENTS' });
  await io.close();
});
