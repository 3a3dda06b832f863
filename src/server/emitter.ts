import { EventEmitter } from 'node:events';
import { useFastListenerTable } from '../websocket/listener-table.js';
import type { EventNames, EventParams, EventsMap, ReservedOrUserEventNames, ReservedOrUserListener } from './typed-events.js';

/**
 * EventEmitter with typed listeners. `emit` is left to subclasses (it sends on the wire there);
 * local listeners are called through `emitReserved` / `emitUntyped`.
 */
export class TypedEmitter<Listen extends EventsMap, Reserved extends EventsMap = {}> extends EventEmitter {
  constructor() {
    super();
    // One per socket: a fast-mode table is smaller than EventEmitter's dictionary.
    useFastListenerTable(this);
  }

  override on<Ev extends ReservedOrUserEventNames<Reserved, Listen>>(ev: Ev, listener: ReservedOrUserListener<Reserved, Listen, Ev>): this {
    return super.on(ev, listener as (...args: any[]) => void);
  }

  override addListener<Ev extends ReservedOrUserEventNames<Reserved, Listen>>(ev: Ev, listener: ReservedOrUserListener<Reserved, Listen, Ev>): this {
    return super.addListener(ev, listener as (...args: any[]) => void);
  }

  override once<Ev extends ReservedOrUserEventNames<Reserved, Listen>>(ev: Ev, listener: ReservedOrUserListener<Reserved, Listen, Ev>): this {
    return super.once(ev, listener as (...args: any[]) => void);
  }

  override prependListener<Ev extends ReservedOrUserEventNames<Reserved, Listen>>(ev: Ev, listener: ReservedOrUserListener<Reserved, Listen, Ev>): this {
    return super.prependListener(ev, listener as (...args: any[]) => void);
  }

  override off<Ev extends ReservedOrUserEventNames<Reserved, Listen>>(ev: Ev, listener: ReservedOrUserListener<Reserved, Listen, Ev>): this {
    return super.off(ev, listener as (...args: any[]) => void);
  }

  override removeListener<Ev extends ReservedOrUserEventNames<Reserved, Listen>>(ev: Ev, listener: ReservedOrUserListener<Reserved, Listen, Ev>): this {
    return super.removeListener(ev, listener as (...args: any[]) => void);
  }

  /** Calls local listeners of a reserved event. */
  protected emitReserved<Ev extends EventNames<Reserved>>(ev: Ev, ...args: EventParams<Reserved, Ev>): boolean {
    return super.emit(ev, ...args);
  }

  /** Calls local listeners of any event (incoming events, server-side events). */
  protected emitUntyped(ev: string | symbol, ...args: unknown[]): boolean {
    return super.emit(ev, ...args);
  }

  /**
   * Calls local listeners of the event `event[0]` with the rest of `event` as arguments, then
   * `extra` if given (an incoming event's ack callback). A lone listener of one or two arguments
   * (the usual case) is called as `emit()` would call it, without the argument arrays; `emit()`
   * itself for the rest, or when it watches returned promises (`captureRejections`).
   */
  protected emitEvent(event: unknown[], extra?: unknown): void {
    const listener = (this as unknown as { _events: Record<string, unknown> })._events[event[0] as string];
    if (typeof listener === 'function' && kCapture !== undefined && (this as unknown as Record<symbol, unknown>)[kCapture] !== true) {
      const withExtra = extra !== undefined;
      if (event.length === 2) {
        if (withExtra) listener.call(this, event[1], extra);
        else listener.call(this, event[1]);
        return;
      }
      if (event.length === 1) {
        if (withExtra) listener.call(this, extra);
        else listener.call(this);
        return;
      }
    }
    if (extra !== undefined) event.push(extra);
    EventEmitter.prototype.emit.apply(this, event as [string, ...unknown[]]);
  }
}

/** EventEmitter's per-instance `captureRejections` flag (undefined if this Node keeps it elsewhere). */
const kCapture = Object.getOwnPropertySymbols(new EventEmitter()).find((symbol) => symbol.description === 'kCapture');
