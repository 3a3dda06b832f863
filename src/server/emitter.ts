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
}
