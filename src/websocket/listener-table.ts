import type { EventEmitter } from 'node:events';

/**
 * @internal Gives a new EventEmitter a fast-mode listener table. EventEmitter keeps listeners in a
 * `{ __proto__: null }` object, which V8 makes a dictionary (about 190 bytes with one or two
 * listeners); the same null-prototype table built from a plain object stays in fast mode, about
 * 130 bytes less for every emitter a connection holds. EventEmitter resets the table to its own
 * kind when the last listener goes; both behave the same.
 */
export function useFastListenerTable(emitter: EventEmitter): void {
  const listeners = {};
  Object.setPrototypeOf(listeners, null);
  (emitter as unknown as { _events: object })._events = listeners;
}
