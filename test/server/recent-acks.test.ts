// The per-socket memory of answered ack ids: bounded in ids, bytes and time (deterministic: the
// clock and the timer are the test's).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_IDS, RecentAcks } from '../../src/server/recent-acks.js';

function harness(maxAge = 1000, maxBytes = 100) {
  const timers: { ms: number; fn: () => void; cancelled: boolean }[] = [];
  const acks = new RecentAcks(maxAge, maxBytes, (ms, fn) => {
    const timer = { ms, fn, cancelled: false };
    timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  });
  return { acks, timers };
}

test('a new id runs, a repeat while running is dropped, a repeat once answered gets the answer', () => {
  const { acks } = harness();
  assert.deepEqual(acks.receive(1, 0), { kind: 'new' });
  assert.deepEqual(acks.receive(1, 1), { kind: 'drop' });
  acks.answered(1, ['31[1]'], 2);
  assert.deepEqual(acks.receive(1, 3), { kind: 'answer', answer: ['31[1]'] });
  assert.equal(acks.bytes, 5);
});

test('bytes: kept answers never exceed maxBytes; older answers are dropped first, their ids still known', () => {
  const { acks } = harness(1000, 100);
  for (let id = 0; id < 5; id++) {
    acks.receive(id, 0);
    acks.answered(id, ['x'.repeat(30)], id);
    assert.ok(acks.bytes <= 100, `${acks.bytes} bytes kept`);
  }
  assert.equal(acks.bytes, 90);
  assert.deepEqual(acks.receive(0, 10), { kind: 'drop' }, 'answer dropped, never run again');
  assert.deepEqual(acks.receive(4, 10), { kind: 'answer', answer: ['x'.repeat(30)] });
  // One answer larger than the whole budget is not kept at all.
  acks.receive(9, 10);
  acks.answered(9, [new Uint8Array(101)], 11);
  assert.equal(acks.bytes, 90);
  assert.deepEqual(acks.receive(9, 12), { kind: 'drop' });
});

test('time: answers expire after maxAge, on the next EVENT or by the one pending sweep', () => {
  const { acks, timers } = harness(1000, 1000);
  acks.receive(1, 0);
  acks.answered(1, ['a'], 0);
  acks.receive(2, 10);
  acks.answered(2, ['b'], 500);
  assert.equal(timers.length, 1, 'one sweep per socket, not one per answer');
  assert.equal(timers[0]!.ms, 1000);
  assert.deepEqual(acks.receive(3, 1000), { kind: 'new' });
  assert.equal(acks.size, 2, 'id 1 expired: ids 2 and 3 left');
  assert.deepEqual(acks.receive(1, 1001), { kind: 'new' }, 'an expired id counts as new');
  // A running id never expires by time (its handler may still answer).
  const { acks: quiet, timers: quietTimers } = harness(1000, 1000);
  quiet.receive(7, 0);
  assert.equal(quietTimers.length, 0);
  assert.deepEqual(quiet.receive(7, 1e9), { kind: 'drop' });
});

test('the sweep empties an idle socket and stops re-arming once nothing is kept', () => {
  const { acks, timers } = harness(1, 1000);
  acks.receive(1);
  acks.answered(1, ['a']);
  const start = performance.now();
  while (performance.now() - start < 3); // the sweep reads the real clock: let 1 ms pass
  timers[0]!.fn();
  assert.equal(acks.size, 0);
  assert.equal(acks.bytes, 0);
  assert.equal(timers.length, 1, 'not re-armed');
});

test('ids: at most MAX_IDS, the oldest forgotten first', () => {
  const { acks } = harness();
  for (let id = 0; id <= MAX_IDS; id++) acks.receive(id, 0);
  assert.equal(acks.size, MAX_IDS);
  assert.deepEqual(acks.receive(0, 0), { kind: 'new' });
  assert.deepEqual(acks.receive(MAX_IDS, 0), { kind: 'drop' });
});

test('an id whose EVENT never reached its handler (notRun) may run when repeated; an answered one stays', () => {
  const { acks } = harness();
  acks.receive(1, 0);
  acks.notRun(1);
  assert.deepEqual(acks.receive(1, 1), { kind: 'new' });
  acks.answered(1, ['31[]'], 2);
  acks.notRun(1);
  assert.deepEqual(acks.receive(1, 3), { kind: 'answer', answer: ['31[]'] });
});

test('while the session waits for recovery, answers do not age and no timer holds them', () => {
  const { acks, timers } = harness(1000, 1000);
  acks.receive(1, 0);
  acks.answered(1, ['a'], 900);
  acks.suspend(950);
  assert.equal(timers[0]!.cancelled, true);
  // Recovered 60 s later: the answer has aged 50 ms of its 1000.
  acks.resume(60_950);
  assert.equal(timers.length, 2, 'the sweep is armed again');
  assert.deepEqual(acks.receive(1, 61_800), { kind: 'answer', answer: ['a'] });
  assert.deepEqual(acks.receive(2, 61_900), { kind: 'new' }, 'and it expires 1000 ms of connected time after it was sent');
  assert.deepEqual(acks.receive(1, 61_901), { kind: 'new' });
});
