// The node:cluster adapter's recovery store (kept in the primary), with a hand-driven clock: what
// it keeps, for how long, how many, and which sessions it gives back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecoveryStore, type RecordEntry } from '../../src/adapters/cluster-recovery.js';

function setup() {
  let now = 1_000_000;
  const store = new RecoveryStore(() => now);
  const record = (payload: string, rooms: string[] = [], opts: Partial<RecordEntry> = {}) =>
    store.record({ nsp: '/', rooms, except: [], payload, ttl: 10_000, max: 100, ...opts });
  const live = (pid: string, rooms: string[], worker = 1) =>
    store.update(worker, { nsp: '/', pid, state: 'live', sid: `sid-${pid}`, rooms, data: 'ZA', ttl: 10_000 });
  return { store, record, live, advance: (ms: number) => void (now += ms) };
}

test('a session of a worker that exited is restored once, with the packets after its offset that it should have received', () => {
  const { store, record, live } = setup();
  live('p1', ['sid-p1', 'a']);
  const first = record('one', ['a']);
  record('two', ['b']);
  record('three', ['a']);
  record('four');
  assert.equal(store.restore('/', 'p1', first), null, 'not while it is connected');
  live('p1', ['sid-p1', 'a']);
  store.workerGone(2);
  assert.equal(store.restore('/', 'p1', first), null, 'another worker exiting changes nothing');
  live('p1', ['sid-p1', 'a']);
  store.workerGone(1);
  const restored = store.restore('/', 'p1', first);
  assert.deepEqual(restored && { ...restored, missed: restored.missed.map(([, payload]) => payload) }, {
    sid: 'sid-p1', pid: 'p1', rooms: ['sid-p1', 'a'], data: 'ZA', missed: ['three', 'four'],
  });
  assert.equal(store.restore('/', 'p1', first), null, 'restored at most once');
});

test('without an offset, a session gets what was sent since the primary heard of it', () => {
  const { store, record, live } = setup();
  record('before');
  live('p1', ['sid-p1']);
  record('after');
  store.update(1, { nsp: '/', pid: 'p1', state: 'gone', sid: 'sid-p1', rooms: ['sid-p1'], data: 'ZA', ttl: 10_000 });
  assert.deepEqual(store.restore('/', 'p1', undefined)?.missed.map(([, p]) => p), ['after']);
});

test('sessions and packets expire after maxDisconnectionDuration; the count limit makes sessions that needed dropped packets unrecoverable', () => {
  const { store, record, live, advance } = setup();
  live('old', ['sid-old']);
  live('fresh', ['sid-fresh']);
  const offset = record('x');
  store.workerGone(1);
  advance(10_001);
  assert.equal(store.restore('/', 'old', offset), null, 'expired');

  const { store: small, record: rec, live: liveSmall } = setup();
  liveSmall('p', ['sid-p']);
  const seen = rec('1', [], { max: 2 });
  rec('2', [], { max: 2 });
  rec('3', [], { max: 2 });
  rec('4', [], { max: 2 });
  assert.equal(small.size().packets, 2);
  small.workerGone(1);
  assert.equal(small.restore('/', 'p', seen), null, 'packet 2 was dropped: no partial recovery');
  liveSmall('q', ['sid-q']);
  const last = rec('5', [], { max: 2 });
  small.workerGone(1);
  assert.deepEqual(small.restore('/', 'q', last)?.missed, [], 'up to date: nothing missed, nothing needed was dropped');
  assert.equal(small.restore('/', 'q', undefined), null);
});

test('offsets of another primary, unknown sessions and dropped sessions restore nothing', () => {
  const { store, record, live } = setup();
  live('p1', ['sid-p1']);
  record('x');
  store.workerGone(1);
  const other = new RecoveryStore().record({ nsp: '/', rooms: [], except: [], payload: 'y', ttl: 1000, max: 10 });
  assert.equal(store.restore('/', 'p1', other), null);
  assert.equal(store.restore('/', 'nobody', undefined), null);
  assert.equal(store.restore('/other', 'p1', undefined), null);
  live('p2', ['sid-p2']);
  store.update(1, { nsp: '/', pid: 'p2', state: 'drop' });
  store.workerGone(1);
  assert.equal(store.restore('/', 'p2', undefined), null, 'a client that left on purpose');
});
