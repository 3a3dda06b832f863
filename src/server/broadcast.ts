import { PacketType, RESERVED_EVENTS, type Packet } from '../protocol/socketio.js';
import type { Adapter, BroadcastFlags, Room, SocketId, SocketLike } from './adapter.js';
import type { Handshake } from './socket.js';
import type {
  AckResult,
  ArgsWithoutAck,
  DecorateAcknowledgements,
  DecorateAcknowledgementsWithMultipleResponses,
  DefaultEventsMap,
  EventNames,
  EventNamesWithAck,
  EventParams,
  EventsMap,
} from './typed-events.js';

interface OperatorFlags extends BroadcastFlags {
  /** RemoteSocket.timeout(): one client answers, the callback gets its answer, not an array. */
  expectSingleResponse?: boolean;
}

const toArray = (room: Room | Room[]): Room[] => (Array.isArray(room) ? room : [room]);

/**
 * An immutable selection of sockets (rooms, exceptions, flags) to emit to or act on.
 *
 * @example
 * ```ts
 * io.to('room1').except('room2').emit('news', 'hi');
 * const answers = await io.timeout(1000).emitWithAck('poll');   // one answer per client
 * const sockets = await io.in('room1').fetchSockets();
 * ```
 */
export class BroadcastOperator<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = any> {
  constructor(
    private readonly adapter: Adapter,
    private readonly rooms: Set<Room> = new Set(),
    private readonly exceptRooms: Set<Room> = new Set(),
    private readonly flags: OperatorFlags = {},
  ) {}

  /** Adds rooms to the selection (a union). */
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    const rooms = new Set(this.rooms);
    for (const r of toArray(room)) rooms.add(r);
    return new BroadcastOperator(this.adapter, rooms, this.exceptRooms, this.flags);
  }

  /** Same as `to`. */
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.to(room);
  }

  /** Excludes the members of these rooms. */
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData> {
    const except = new Set(this.exceptRooms);
    for (const r of toArray(room)) except.add(r);
    return new BroadcastOperator(this.adapter, this.rooms, except, this.flags);
  }

  /**
   * Sets whether this broadcast may be compressed (permessage-deflate, when the connection
   * negotiated it).
   */
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData> {
    return this.withFlags({ compress });
  }

  /** Drop the event for clients whose transport is not ready to write. */
  get volatile(): BroadcastOperator<EmitEvents, SocketData> {
    return this.withFlags({ volatile: true });
  }

  /** Only the sockets of this node (cluster adapters do not forward). */
  get local(): BroadcastOperator<EmitEvents, SocketData> {
    return this.withFlags({ local: true });
  }

  /** Collect acknowledgements for up to `timeout` ms. */
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.withFlags({ timeout }) as BroadcastOperator<any, SocketData>;
  }

  private withFlags(flags: OperatorFlags): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, ...flags });
  }

  /**
   * Emits to every selected socket. With a callback as last argument (requires `.timeout()`), the
   * callback gets `(err, responses)` once every client answered or the time is up.
   */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    if (RESERVED_EVENTS.has(ev as string)) throw new Error(`"${String(ev)}" is a reserved event name`);
    const data: unknown[] = [ev, ...args];
    const packet: Packet = { type: PacketType.EVENT, nsp: this.adapter.nsp.name, data };
    const opts = { rooms: this.rooms, except: this.exceptRooms, flags: this.flags };
    const last = data[data.length - 1];
    if (typeof last !== 'function') {
      this.adapter.broadcast(packet, opts);
      return true;
    }
    if (this.flags.timeout === undefined) {
      throw new Error('broadcast acknowledgements need a timeout: use .timeout(ms).emit(...)');
    }
    data.pop();
    const ack = last as (err: Error | null, responses: unknown) => void;
    const single = this.flags.expectSingleResponse;
    const responses: unknown[] = [];
    let done = false;
    let expectedServers = -1;
    let answeredServers = 0;
    let expectedClients = 0;
    const finish = (err: Error | null) => {
      done = true;
      timer.cancel();
      ack(err, single ? responses[0] : responses);
    };
    const check = () => {
      if (!done && expectedServers === answeredServers && responses.length === expectedClients) finish(null);
    };
    const onResponse = (response: unknown) => {
      if (done) return;
      responses.push(response);
      check();
    };
    const timer = this.adapter.nsp.server._timeouts.schedule(this.flags.timeout, () => {
      if (done) return;
      // Forget the acks nobody answered, so silent clients do not accumulate them.
      if (packet.id !== undefined) for (const socket of this.adapter.nsp.sockets.values()) socket._dropAck(packet.id, onResponse);
      finish(new Error('operation has timed out'));
    });
    this.adapter.broadcastWithAck(
      packet,
      opts,
      (clientCount) => {
        expectedClients += clientCount;
        answeredServers++;
        check();
      },
      onResponse,
    );
    void this.adapter.serverCount().then((count) => {
      expectedServers = count;
      check();
    });
    return true;
  }

  /**
   * Emits and resolves with the responses (an array; one per client). Requires `.timeout()`.
   */
  emitWithAck<Ev extends EventNamesWithAck<EmitEvents>>(ev: Ev, ...args: ArgsWithoutAck<EmitEvents, Ev>): Promise<AckResult<EmitEvents, Ev>> {
    return new Promise((resolve, reject) => {
      (this.emit as (ev: Ev, ...args: unknown[]) => boolean)(ev, ...(args as unknown[]), (err: Error | null, responses: AckResult<EmitEvents, Ev>) =>
        err ? reject(err) : resolve(responses),
      );
    });
  }

  /** The selected sockets, local or on other nodes. */
  async fetchSockets(): Promise<RemoteSocket<EmitEvents, SocketData>[]> {
    const sockets = await this.adapter.fetchSockets({ rooms: this.rooms, except: this.exceptRooms, flags: this.flags });
    return sockets.map((socket) => new RemoteSocket<EmitEvents, SocketData>(this.adapter, socket));
  }

  /** Makes the selected sockets join rooms. */
  socketsJoin(room: Room | Room[]): void {
    this.adapter.addSockets({ rooms: this.rooms, except: this.exceptRooms, flags: this.flags }, toArray(room));
  }

  /** Makes the selected sockets leave rooms. */
  socketsLeave(room: Room | Room[]): void {
    this.adapter.delSockets({ rooms: this.rooms, except: this.exceptRooms, flags: this.flags }, toArray(room));
  }

  /** Disconnects the selected sockets (`close`: their whole connection). */
  disconnectSockets(close = false): void {
    this.adapter.disconnectSockets({ rooms: this.rooms, except: this.exceptRooms, flags: this.flags }, close);
  }

  /** @deprecated use fetchSockets() */
  allSockets(): Promise<Set<SocketId>> {
    return this.adapter.sockets(this.rooms);
  }
}

/**
 * A socket as `fetchSockets()` returns it: its data, and operations that work wherever it lives.
 */
export class RemoteSocket<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = any> {
  readonly id: SocketId;
  readonly handshake: Handshake;
  readonly rooms: Set<Room>;
  readonly data: SocketData;
  private readonly operator: BroadcastOperator<EmitEvents, SocketData>;

  constructor(
    private readonly adapter: Adapter,
    details: SocketLike,
  ) {
    this.id = details.id;
    this.handshake = details.handshake;
    this.rooms = new Set(details.rooms);
    this.data = details.data as SocketData;
    this.operator = new BroadcastOperator(adapter, new Set([this.id]), new Set());
  }

  /** Emits the event to this socket, wherever it is connected. */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean {
    return this.operator.emit(ev, ...args);
  }

  /** The ack callback of the next emit gets `(err, response)`. */
  timeout(timeout: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData> {
    return new BroadcastOperator(this.adapter, new Set([this.id]), new Set(), { timeout, expectSingleResponse: true });
  }

  /** Makes this socket join `room` (or several), on the server it is connected to. */
  join(room: Room | Room[]): void {
    this.adapter.addSockets({ rooms: new Set([this.id]) }, toArray(room));
  }

  /** Makes this socket leave `room` (or several), on the server it is connected to. */
  leave(room: Room | Room[]): void {
    this.adapter.delSockets({ rooms: new Set([this.id]) }, toArray(room));
  }

  /** Disconnects this socket; with `close`, closes its connection too. */
  disconnect(close = false): this {
    this.adapter.disconnectSockets({ rooms: new Set([this.id]) }, close);
    return this;
  }
}
