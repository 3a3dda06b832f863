import { EventEmitter } from 'node:events';

/** @internal A `watched` bit: someone listens for `flush` or `drain`. */
export const WATCH_FLUSH = 1;
/** @internal A `watched` bit: someone listens for `packetCreate`. */
export const WATCH_PACKET_CREATE = 2;
/** @internal A `watched` bit: someone listens for `packet`. */
export const WATCH_PACKET = 4;

/**
 * @internal Keeps sticky bits in the emitters' `watched` field for events that are checked on
 * every message: the check is then a field read instead of `listenerCount`, whose lookup in the
 * listener table is megamorphic across emitters (about 1,200 instructions of an echo+ack message
 * went to those checks). A bit is set when a listener for its event is added (`once` and
 * `prependOnceListener` go through `on` and `prependListener`) and never cleared: with the bit set
 * the emitter still asks `listenerCount` before building anything, so a stale bit costs only that.
 */
export function trackListeners(prototype: EventEmitter, bits: Readonly<Record<string, number>>): void {
  for (const method of ['on', 'addListener', 'prependListener'] as const) {
    const base = EventEmitter.prototype[method];
    Object.defineProperty(prototype, method, {
      value: function (this: EventEmitter & { watched: number }, event: string | symbol, listener: (...args: any[]) => void) {
        if (typeof event === 'string' && Object.hasOwn(bits, event)) this.watched |= bits[event]!;
        return base.call(this, event, listener);
      },
      writable: true,
      configurable: true,
    });
  }
}
