/**
 * Typed event helpers and a tiny browser-safe emitter (no `node:events`), shared by the Engine.IO
 * client, the Manager and Socket. Type names follow socket.io-client v4 so typed event maps written
 * for it (and for our server) work unchanged.
 */

// biome-ignore lint: `any` is what event maps are made of.
export type EventsMap = Record<string, any>;

/** The map used when no types are given: every event, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

/** The event names of an events map. */
export type EventNames<Map extends EventsMap> = keyof Map & string;

/** The arguments of event `Ev` in an events map. */
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

type FallbackToUntypedListener<T> = [T] extends [never] ? (...args: any[]) => void | Promise<void> : T;

export type ReservedOrUserEventNames<Reserved extends EventsMap, User extends EventsMap> =
  | EventNames<Reserved>
  | EventNames<User>;

export type ReservedOrUserListener<
  Reserved extends EventsMap,
  User extends EventsMap,
  Ev extends ReservedOrUserEventNames<Reserved, User>,
> = FallbackToUntypedListener<
  Ev extends EventNames<Reserved> ? Reserved[Ev] : Ev extends EventNames<User> ? User[Ev] : never
>;

/** `timeout()` turns every acknowledgement callback `(...res) => void` into `(err, ...res) => void`. */
export type PrependTimeoutError<T extends any[]> = {
  [K in keyof T]: T[K] extends (...args: infer Params) => infer Result ? (err: Error, ...args: Params) => Result : T[K];
};

/** An events map whose acknowledgement callbacks receive an error first, as after `timeout()`. */
export type DecorateAcknowledgements<E> = {
  [K in keyof E]: E[K] extends (...args: infer Params) => infer Result ? (...args: PrependTimeoutError<Params>) => Result : E[K];
};

export type Last<T extends any[]> = T extends [...infer _H, infer L] ? L : any;
export type AllButLast<T extends any[]> = T extends [...infer H, infer _L] ? H : any[];
export type FirstArg<T> = T extends (arg: infer Param, ...rest: any[]) => any ? Param : any;
/** The value an acknowledgement resolves with, skipping the leading `Error` of decorated callbacks. */
export type AckResult<T> = T extends (err: Error, arg: infer R, ...rest: any[]) => any
  ? R
  : FirstArg<T>;

type Listener = (...args: any[]) => unknown;

/**
 * Minimal emitter. `emitReserved` dispatches locally; subclasses (Socket) may override `emit`
 * to mean "send to the server", as socket.io-client does.
 */
export class Emitter<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ReservedEvents extends EventsMap = {},
> {
  // No prototype: an event called "__proto__" is just another key.
  #listeners: Record<string, Listener[]> = Object.create(null);

  /** Adds a listener of `event`, a reserved event or one the other side emits. */
  on<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    event: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    (this.#listeners[event] ??= []).push(listener as Listener);
    return this;
  }

  /** Like `on`, for the next time only. */
  once<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    event: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    const wrapper = (...args: any[]) => {
      this.off(event, wrapper as any);
      (listener as Listener).apply(this, args);
    };
    wrapper.fn = listener;
    return this.on(event, wrapper as any);
  }

  /** Removes one listener, every listener of an event, or every listener at all. */
  off<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    event?: Ev,
    listener?: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this {
    const all = this.#listeners;
    if (event === undefined) this.#listeners = Object.create(null);
    else if (listener && all[event]) all[event] = all[event].filter((l) => l !== listener && (l as { fn?: unknown }).fn !== listener);
    else delete all[event];
    return this;
  }

  /** Calls the listeners of `event` with `args`. */
  emit<Ev extends EventNames<EmitEvents>>(event: Ev, ...args: EventParams<EmitEvents, Ev>): this {
    return this._emit(event as any, ...(args as any));
  }

  /**
   * @internal `emitReserved` under a name the browser build shortens: the client's own events go
   * through here (about 30 calls in the bundle).
   */
  _emit<Ev extends EventNames<ReservedEvents>>(event: Ev, ...args: EventParams<ReservedEvents, Ev>): this {
    // A copy: listeners may remove themselves while we iterate.
    for (const fn of this.listeners(event as any)) fn.apply(this, args);
    return this;
  }

  /** A copy of the listeners of `event`. */
  listeners<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    event: Ev,
  ): ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>[] {
    return (this.#listeners[event]?.slice() ?? []) as any;
  }

  /** Whether `event` has any listener. */
  hasListeners(event: string): boolean {
    return !!this.#listeners[event]?.length;
  }
}

// Aliases socket.io-client also offers, shared on the prototype (no per-instance cost).
export interface Emitter<ListenEvents, EmitEvents, ReservedEvents> {
  /** Dispatches a local event (reserved events of Socket and Manager go through here). */
  emitReserved: Emitter<ListenEvents, EmitEvents, ReservedEvents>['_emit'];
  /** Same as `off`. */
  removeListener: Emitter<ListenEvents, EmitEvents, ReservedEvents>['off'];
  /**
   * Same as `off`: without a listener, removes every listener of the event; without arguments, all
   * of them.
   */
  removeAllListeners: Emitter<ListenEvents, EmitEvents, ReservedEvents>['off'];
}
const proto = Emitter.prototype;
proto.removeListener = proto.removeAllListeners = proto.off;
proto.emitReserved = proto._emit;

/** Subscribes and returns the unsubscribe function (used to tear down a set of subscriptions at once). */
export function on(emitter: Emitter<any, any, any>, event: string, fn: (...args: any[]) => void): () => void {
  emitter.on(event, fn);
  return () => emitter.off(event, fn);
}
