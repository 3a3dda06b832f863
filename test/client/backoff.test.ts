// Reconnection delays: exponential growth, jitter bounds, never above the cap, spread at the cap.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Backoff } from '../../src/client/index.js';

const make = (min: number, max: number, factor: number, random?: () => number) =>
  new Backoff({ reconnectionDelay: min, reconnectionDelayMax: max, randomizationFactor: factor }, random);

test('doubles from reconnectionDelay up to reconnectionDelayMax without jitter', () => {
  const backoff = make(100, 1000, 0);
  assert.deepEqual(Array.from({ length: 6 }, () => backoff.duration()), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoff.attempts, 6);
  backoff.reset();
  assert.equal(backoff.duration(), 100);
});

test('defaults 1000 / 5000 / 0.5, and options are read live', () => {
  const opts = { randomizationFactor: 0 };
  const backoff = new Backoff(opts);
  assert.equal(backoff.duration(), 1000);
  Object.assign(opts, { reconnectionDelay: 10 });
  assert.equal(backoff.duration(), 20);
});

test('jitter spreads each delay within ±factor, and below the cap once reached', () => {
  assert.equal(make(100, 10000, 0.5, () => 0).duration(), 50);
  assert.equal(make(100, 10000, 0.5, () => 0.999999).duration(), 149);
  assert.ok(make(1000, 1000, 0.5, () => 0.999999).duration() >= 500, 'reflected below the cap, not clamped onto it');
});

test('property: 0 ≤ delay ≤ max, and ≥ base·(1-jitter), for any options and attempt', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 100000 }),
      fc.integer({ min: 0, max: 100000 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 0.999999, noNaN: true }),
      fc.integer({ min: 0, max: 2000 }),
      (min, max, jitter, r, attempts) => {
        const backoff = make(min, max, jitter, () => r);
        backoff.attempts = attempts;
        const base = Math.min(min * 2 ** attempts, max);
        const delay = backoff.duration();
        assert.ok(Number.isInteger(delay));
        assert.ok(delay >= 0 && delay <= max, `${delay} > ${max}`);
        if (base > 0) assert.ok(delay >= Math.floor(base * (1 - jitter)) - 1, `${delay} < ${base}·(1-${jitter})`);
        else assert.equal(delay, 0); // 0·2^n (NaN once 2^n overflows) or a zero cap
      },
    ),
  );
});

test('many clients at the cap do not reconnect in lock-step', () => {
  const delays = new Set<number>();
  for (let i = 0; i < 200; i++) {
    const backoff = make(1000, 5000, 0.5);
    backoff.attempts = 20;
    delays.add(backoff.duration());
  }
  assert.ok(delays.size > 100, `only ${delays.size} distinct delays`);
  assert.ok([...delays].every((d) => d >= 2500 && d <= 5000));
});
