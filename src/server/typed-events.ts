/**
 * Type machinery for typed events: user event maps in, checked `emit`/`on` signatures out.
 *
 * @example
 * ```ts
 * interface ServerToClient { news(title: string): void; ask(q: string, cb: (answer: number) => void): void }
 * interface ClientToServer { chat(text: string, ack: (ok: boolean) => void): void }
 * const io = new Server<ClientToServer, ServerToClient>();
 * io.on('connection', (socket) => {
 *   socket.emit('news', 'hello');                             // ok
 *   socket.on('chat', (text, ack) => ack(text.length > 0));   // text: string
 *   const n: number = await socket.timeout(1000).emitWithAck('ask', 'q');
 * });
 * ```
 */

/** A map of event names to listener signatures. */
export interface EventsMap {
  [event: string]: any;
}

/** The untyped default: any event, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

/** The event names of an events map. */
export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol);

/** The arguments of event `Ev` in an events map. */
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

/** The listener type of event `Ev` in an events map. */
export type EventListener<Map extends EventsMap, Ev extends EventNames<Map>> = Map[Ev];

type Fn = (...args: any[]) => any;

/** False for open-ended parameter lists (`...args: any[]`), which get no ack handling. */
type IsTuple<T extends any[]> = number extends T['length'] ? false : true;

/** True when the parameter list ends with an acknowledgement callback. */
export type HasAck<P extends any[]> = IsTuple<P> extends true ? (P extends [...any[], Fn] ? true : false) : false;

/** Last element of a tuple. */
export type Last<T extends any[]> = IsTuple<T> extends true ? (T extends [...infer _H, infer L] ? L : never) : never;

/** All but the last element of a tuple. */
export type AllButLast<T extends any[]> = T extends [...infer H, infer _L] ? H : [];

/** The first argument of an acknowledgement callback (what `emitWithAck` resolves to). */
export type FirstArg<T> = T extends (arg: infer A, ...rest: any[]) => any ? A : any;

/** Events whose last parameter is an acknowledgement callback. */
export type EventNamesWithAck<Map extends EventsMap, K extends EventNames<Map> = EventNames<Map>> = K extends any
  ? HasAck<Parameters<Map[K]>> extends true
    ? K
    : Map[K] extends (...args: any[]) => any
      ? string extends K
        ? K
        : never
      : never
  : never;

/** Events without an acknowledgement callback. */
export type EventNamesWithoutAck<Map extends EventsMap, K extends EventNames<Map> = EventNames<Map>> = K extends any
  ? HasAck<Parameters<Map[K]>> extends true
    ? never
    : K
  : never;

/** Arguments of an event minus its ack callback. */
export type ArgsWithoutAck<Map extends EventsMap, Ev extends EventNames<Map>> =
  HasAck<EventParams<Map, Ev>> extends true ? AllButLast<EventParams<Map, Ev>> : EventParams<Map, Ev>;

/** Type `emitWithAck` resolves to for an event. */
export type AckResult<Map extends EventsMap, Ev extends EventNames<Map>> =
  HasAck<EventParams<Map, Ev>> extends true ? FirstArg<Last<EventParams<Map, Ev>>> : any;

/** With `.timeout()`, ack callbacks receive an `Error` first (issue socket.io-client#1555). */
export type DecorateAcknowledgements<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: PrependTimeoutError<P>) => R : E[K];
};

type PrependTimeoutError<P extends any[]> = {
  [I in keyof P]: P[I] extends (...args: infer A) => infer R ? (err: Error | null, ...args: A) => R : P[I];
};

/** Broadcast acks collect one answer per client: `(err, responses[])`. */
export type DecorateAcknowledgementsWithMultipleResponses<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: ExpectMultipleResponses<P>) => R : E[K];
};

type ExpectMultipleResponses<P extends any[]> = {
  [I in keyof P]: P[I] extends (...args: infer A) => infer R
    ? A extends [infer First, ...any[]]
      ? (err: Error | null, responses: First[]) => R
      : (err: Error | null, responses: unknown[]) => R
    : P[I];
};

/** Broadcasts may only carry acks after `.timeout()`: strip the callback from the signatures. */
export type RemoveAcknowledgements<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: HasAck<P> extends true ? AllButLast<P> : P) => R : E[K];
};

/** Events a user may listen to: the reserved ones plus the map's own. */
export type ReservedOrUserEventNames<Reserved extends EventsMap, User extends EventsMap> = EventNames<Reserved> | EventNames<User>;

/**
 * The listener of `Ev`: the reserved event's signature if `Ev` is reserved, else the map's (untyped
 * when the map is the default one).
 */
export type ReservedOrUserListener<Reserved extends EventsMap, User extends EventsMap, Ev extends ReservedOrUserEventNames<Reserved, User>> =
  FallbackToUntypedListener<
    Ev extends EventNames<Reserved> ? Reserved[Ev] : Ev extends EventNames<User> ? User[Ev] : never
  >;

/** A listener for an event missing from the map is untyped rather than `never`. */
type FallbackToUntypedListener<T> = [T] extends [never] ? (...args: any[]) => void | Promise<void> : T;
