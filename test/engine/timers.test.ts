import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DelayQueue, TimerEntry } from '../../src/engine/timers.js';
import { until, delay } from './helpers.js';

test('DelayQueue: entries expire in insertion order, once, after the delay', async () => {
  const fired: string[] = [];
  const queue = new DelayQueue<string>(20, (owner) => fired.push(owner));
  const start = performance.now();
  const a = new TimerEntry('a');
  const b = new TimerEntry('b');
  const c = new TimerEntry('c');
  queue.add(a);
  queue.add(b);
  queue.add(c);
  assert.ok(a.scheduled);
  await until(() => fired.length === 3, 1000, 'expiry');
  assert.ok(performance.now() - start >= 19, 'not before the delay');
  assert.deepEqual(fired, ['a', 'b', 'c']);
  assert.equal(a.scheduled, false);
  await delay(30);
  assert.equal(fired.length, 3, 'each fires once');
});

test('DelayQueue: cancel and re-add move an entry; clear drops all', async () => {
  const fired: string[] = [];
  const queue = new DelayQueue<string>(15, (owner) => fired.push(owner));
  const a = new TimerEntry('a');
  const b = new TimerEntry('b');
  const c = new TimerEntry('c');
  queue.add(a);
  queue.add(b);
  queue.add(c);
  b.cancel();
  queue.add(a); // re-added: now last
  await until(() => fired.length === 2, 1000, 'expiry');
  assert.deepEqual(fired, ['c', 'a']);

  const d = new TimerEntry('d');
  queue.add(d);
  queue.clear();
  await delay(30);
  assert.deepEqual(fired, ['c', 'a']);
});

test('DelayQueue: an entry can hop between queues from inside a callback (ping → pong → ping)', async () => {
  const log: string[] = [];
  let pongQueue!: DelayQueue<TimerEntry<unknown>>;
  const pingQueue = new DelayQueue<TimerEntry<unknown>>(5, (entry) => {
    log.push('ping');
    pongQueue.add(entry as TimerEntry<TimerEntry<unknown>>);
  });
  pongQueue = new DelayQueue<TimerEntry<unknown>>(5, (entry) => {
    log.push('pong-timeout');
    if (log.length < 6) pingQueue.add(entry as TimerEntry<TimerEntry<unknown>>);
  });
  const entry: TimerEntry<TimerEntry<unknown>> = new TimerEntry(null as unknown as TimerEntry<unknown>);
  (entry as { owner: unknown }).owner = entry;
  pingQueue.add(entry);
  await until(() => log.length === 6, 2000, 'alternation');
  assert.deepEqual(log, ['ping', 'pong-timeout', 'ping', 'pong-timeout', 'ping', 'pong-timeout']);
});

test('DelayQueue: thousands of entries share one timer and all fire', async () => {
  let fired = 0;
  const queue = new DelayQueue<number>(10, () => fired++);
  for (let i = 0; i < 5000; i++) queue.add(new TimerEntry(i));
  await until(() => fired === 5000, 2000, 'all fired');
});
