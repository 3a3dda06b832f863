/**
 * Exponential backoff with jitter for reconnection delays, configured with the Manager's option
 * names and read live (so `manager.reconnectionDelay(500)` applies to the next attempt).
 *
 * Attempt n waits about `reconnectionDelay · 2^n`, capped at `reconnectionDelayMax`, spread by
 * ±`randomizationFactor` (0..1). Unlike a plain clamp, a delay that would overshoot the cap is
 * reflected below it, so clients that all reached the cap (a server restart with many clients)
 * still spread over `[max·(1-factor), max]` instead of reconnecting in lock-step. The result
 * never exceeds the cap.
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ reconnectionDelay: 1000, reconnectionDelayMax: 5000, randomizationFactor: 0.5 });
 * setTimeout(reconnect, backoff.duration()); // 500..1500 ms, then 1000..3000, ...
 * backoff.reset();                           // after a successful reconnection
 * ```
 */
export interface BackoffOptions {
  /** First delay in ms (default 1000). */
  reconnectionDelay?: number;
  /** Cap in ms (default 5000). */
  reconnectionDelayMax?: number;
  /** Spread of each delay, 0..1 (default 0.5). */
  randomizationFactor?: number;
}

/**
 * Reconnection delays: exponential backoff with jitter. Attempt n waits about
 * `reconnectionDelay · 2^n`, capped at `reconnectionDelayMax` and spread by `randomizationFactor`.
 */
export class Backoff {
  attempts = 0;
  readonly opts: BackoffOptions;
  #random: () => number;

  constructor(opts: BackoffOptions = {}, random = Math.random) {
    this.opts = opts;
    this.#random = random;
  }

  /** The delay for the next attempt (counts the attempt). */
  duration(): number {
    const { reconnectionDelay: min = 1000, reconnectionDelayMax: max = 5000, randomizationFactor: factor = 0.5 } = this.opts;
    const base = Math.min(min * 2 ** this.attempts++, max);
    if (!(base > 0)) return 0;
    const jitter = Math.min(Math.max(factor, 0), 1);
    let ms = base * (1 + jitter * (2 * this.#random() - 1));
    if (ms > max) ms = 2 * max - ms;
    return Math.floor(ms); // ≥ 0: base > 0, jitter ≤ 1, and a reflected value stays ≥ 0
  }

  /** Starts over from the first delay (after a successful reconnection). */
  reset(): void {
    this.attempts = 0;
  }
}
