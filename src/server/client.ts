import type { IncomingMessage } from 'node:http';
import { PacketType, SocketIODecodeError, type Packet } from '../protocol/socketio.js';
import type { PacketDecoder } from '../protocol/codec.js';
import type { BroadcastFlags, SocketId } from './adapter.js';
import type { EngineSocket, PreparedMessage } from './engine.js';
import { canWriteNow, sendOptions } from './engine.js';
import type { ExtendedError } from './namespace.js';
import type { Server } from './server.js';
import type { DisconnectReason, Socket } from './socket.js';
import type { TimeoutHandle } from './timeouts.js';

/**
 * One Engine.IO connection and the namespace sockets multiplexed on it. Decodes incoming
 * messages, routes packets to namespaces, writes outgoing packets.
 */
export class Client {
  // The sockets of this connection, one per namespace. Most connections join one namespace: it
  // sits in `first`, and a Map (about 180 bytes) is only made for a second one.
  private first: Socket<any, any, any, any> | undefined;
  private more: Map<string, Socket<any, any, any, any>> | undefined;
  private readonly decoder: PacketDecoder;
  private connecting: Set<string> | undefined;
  private connectTimer: TimeoutHandle | undefined;
  private closed = false;

  /** @internal */
  constructor(
    readonly server: Server<any, any, any, any>,
    readonly conn: EngineSocket,
  ) {
    this.decoder = server._codec.createDecoder();
    // Shared listeners that find the client through the session: no closures per connection.
    (conn as ClientSession)[kClient] = this;
    conn.on('message', connOnMessage);
    conn.on('close', connOnClose);
    // Socket.IO protocol v4 (socket.io-client 2, on Engine.IO v3): the connection to the main
    // namespace is implied; the server connects it without waiting for a CONNECT.
    if (conn.protocol === 3) {
      this.connect('/', NO_AUTH);
      return;
    }
    // Socket.IO connectTimeout: a connection that joins no namespace in time is closed.
    this.connectTimer = server._timeouts.schedule(server._connectTimeout, () => {
      this.connectTimer = undefined;
      if (this.first === undefined) this.close();
    });
  }

  /** The id of the Engine.IO session (read from it: one field less per connection). */
  get id(): string {
    return this.conn.id;
  }

  /** Sockets of this connection by socket id (a snapshot, built on demand). */
  get sockets(): Map<SocketId, Socket<any, any, any, any>> {
    const sockets = new Map<SocketId, Socket<any, any, any, any>>();
    for (const socket of this.socketList()) sockets.set(socket.id, socket);
    return sockets;
  }

  /** Sockets of this connection by namespace name (a snapshot, built on demand). */
  get nsps(): Map<string, Socket<any, any, any, any>> {
    const nsps = new Map<string, Socket<any, any, any, any>>();
    for (const socket of this.socketList()) nsps.set(socket.nsp.name, socket);
    return nsps;
  }

  /** The socket of namespace `name` on this connection. */
  private socketOf(name: string): Socket<any, any, any, any> | undefined {
    const first = this.first;
    if (first !== undefined && first.nsp.name === name) return first;
    return this.more?.get(name);
  }

  /** The sockets of this connection, in the order they joined (a copy: callers may remove). */
  private socketList(): Socket<any, any, any, any>[] {
    if (this.first === undefined) return [];
    return this.more === undefined ? [this.first] : [this.first, ...this.more.values()];
  }

  /** The first HTTP request of the connection. */
  get request(): IncomingMessage {
    return this.conn.request;
  }

  /** @internal */
  onmessage(data: string | Uint8Array): void {
    let packet: Packet | null;
    try {
      packet = this.decoder.add(data);
    } catch (err) {
      if (!(err instanceof SocketIODecodeError)) throw err;
      return this.onParseError(err);
    }
    if (!packet) return;
    try {
      this.ondecoded(packet);
    } catch (err) {
      // An application listener threw: surface it like socket.io (uncaught), outside the engine's stack.
      process.nextTick(() => {
        throw err;
      });
    }
  }

  private ondecoded(packet: Packet): void {
    if (packet.type === PacketType.CONNECT && this.conn.protocol === 3) return this.connectV4(packet.nsp);
    const socket = this.socketOf(packet.nsp);
    if (!socket && packet.type === PacketType.CONNECT) {
      this.connect(packet.nsp, (packet.data as Record<string, unknown> | undefined) ?? NO_AUTH);
    } else if (socket && packet.type !== PacketType.CONNECT && packet.type !== PacketType.CONNECT_ERROR) {
      socket._onpacket(packet);
    } else {
      // A packet for a namespace not joined, a second CONNECT, or a CONNECT_ERROR from a client.
      this.onParseError(new SocketIODecodeError('INVALID_PAYLOAD', `unexpected packet for namespace ${packet.nsp}`));
    }
  }

  /**
   * A Socket.IO v4 CONNECT (`0/chat?token=x,`): the namespace may carry a query, which becomes
   * the socket's `handshake.auth`, as socket.io serves v2 clients.
   */
  private connectV4(nspWithQuery: string): void {
    const mark = nspWithQuery.indexOf('?');
    const name = mark === -1 ? nspWithQuery : nspWithQuery.slice(0, mark);
    if (this.socketOf(name) !== undefined) {
      return this.onParseError(new SocketIODecodeError('INVALID_PAYLOAD', `duplicate CONNECT for ${name}`));
    }
    // Own data properties only (fromEntries defines, never assigns): `__proto__` stays a plain key.
    const auth = mark === -1 ? NO_AUTH : Object.fromEntries(new URLSearchParams(nspWithQuery.slice(mark + 1)));
    this.connect(name, auth);
  }

  private onParseError(err: Error): void {
    for (const socket of this.socketList()) socket._onerror(err);
    this.onclose('parse error');
    this.conn.close();
  }

  private connect(name: string, auth: Record<string, unknown>): void {
    if (this.connecting?.has(name)) {
      return this.onParseError(new SocketIODecodeError('INVALID_PAYLOAD', `duplicate CONNECT for ${name}`));
    }
    (this.connecting ??= new Set()).add(name);
    this.server._resolveNamespace(name, auth, (nsp) => {
      if (this.closed) return;
      if (!nsp) {
        this.doneConnecting(name);
        const data = this.conn.protocol === 3 ? 'Invalid namespace' : { message: 'Invalid namespace' };
        this._write(this.server._codec.encode({ type: PacketType.CONNECT_ERROR, nsp: name, data }), {});
        return;
      }
      void nsp._add(this, auth, (socket) => {
        this.doneConnecting(name);
        if (!socket) return;
        if (this.first === undefined) this.first = socket;
        else (this.more ??= new Map()).set(nsp.name, socket);
        this.connectTimer?.cancel();
        this.connectTimer = undefined;
      });
    });
  }

  /** Most connections join one namespace once: do not keep an empty set for the rest of their life. */
  private doneConnecting(name: string): void {
    const connecting = this.connecting;
    if (connecting?.delete(name) && connecting.size === 0) this.connecting = undefined;
  }

  /** @internal A middleware refused the connection. */
  _refuse(nsp: string, err: ExtendedError): void {
    // Socket.IO v4 clients expect the error itself (its data, else its message), not an object.
    if (this.conn.protocol === 3) {
      this._write(this.server._codec.encode({ type: PacketType.CONNECT_ERROR, nsp, data: err.data ?? err.message }), {});
      return;
    }
    const data: { message: string; data?: unknown } = { message: err.message };
    if (err.data !== undefined) data.data = err.data;
    this._write(this.server._codec.encode({ type: PacketType.CONNECT_ERROR, nsp, data }), {});
  }

  /** @internal */
  _remove(socket: Socket<any, any, any, any>): void {
    if (this.first === socket) {
      // The next socket by join order moves up.
      const more = this.more;
      const next = more?.values().next().value;
      this.first = next;
      if (next !== undefined) more!.delete(next.nsp.name);
      if (more?.size === 0) this.more = undefined;
    } else if (this.more?.get(socket.nsp.name) === socket) {
      this.more.delete(socket.nsp.name);
      if (this.more.size === 0) this.more = undefined;
    }
  }

  /** @internal `socket.disconnect(true)`: every namespace is told, then the connection closes. */
  _disconnectAll(): void {
    for (const socket of this.socketList()) {
      this._write(this.server._codec.encode({ type: PacketType.DISCONNECT, nsp: socket.nsp.name }), {});
      socket._onclose('forced server close');
    }
    this.close();
  }

  /** @internal */
  _write(parts: (string | Uint8Array)[], flags: BroadcastFlags): void {
    const conn = this.conn;
    if (conn.readyState !== 'open') return;
    if (flags.volatile && !canWriteNow(conn)) return;
    const opts = sendOptions(flags.compress !== false);
    for (let i = 0; i < parts.length; i++) conn.send(parts[i]!, opts);
  }

  /** @internal */
  _writePrepared(prepared: PreparedMessage[], flags: BroadcastFlags): void {
    const conn = this.conn;
    // The session checks that it is open itself, first thing in sendPrepared: not checked twice here.
    if (flags.volatile && (conn.readyState !== 'open' || !canWriteNow(conn))) return;
    const options = sendOptions(flags.compress !== false);
    for (let i = 0; i < prepared.length; i++) conn.sendPrepared(prepared[i]!, options);
  }

  /** Closes the underlying connection (all namespaces). */
  close(reason: DisconnectReason = 'forced server close'): void {
    if (this.conn.readyState === 'open') {
      this.onclose(reason);
      this.conn.close();
    }
  }

  /** @internal */
  onclose(reason: DisconnectReason, description?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.connectTimer?.cancel();
    this.connectTimer = undefined;
    for (const socket of this.socketList()) socket._onclose(reason, description);
    this.first = this.more = undefined;
    this.decoder.reset();
  }
}

/** The `auth` of a CONNECT without payload; sockets give each handshake its own `{}` on first read. */
export const NO_AUTH: Record<string, unknown> = Object.freeze({});

const kClient = Symbol('switchboard.client');
type ClientSession = EngineSocket & { [kClient]: Client };

function connOnMessage(this: ClientSession, data: string | Uint8Array): void {
  this[kClient].onmessage(data);
}
function connOnClose(this: ClientSession, reason: string, description?: unknown): void {
  this[kClient].onclose(reason as DisconnectReason, description);
}
