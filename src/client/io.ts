/**
 * `io()`: the socket.io-client v4 entry point. Reuses one Manager (one connection) per origin and
 * path, so several namespaces share a connection, unless `forceNew` / `multiplex: false`, or the
 * namespace is already open on the cached Manager.
 */
import type { DefaultEventsMap, EventsMap } from './emitter.js';
import { Manager, type ManagerOptions } from './manager.js';
import * as platform from './platform.js';
import { Socket, type SocketOptions } from './socket.js';

export interface IoOptions extends ManagerOptions, SocketOptions {
  /** Always open a new connection (default false). */
  forceNew?: boolean;
  /** Share connections between `io()` calls for the same server (default true). */
  multiplex?: boolean;
}

const cache: Record<string, Manager<any, any>> = {};

/**
 * Connects to a namespace (the URL's path, default `/`).
 *
 * @example
 * ```ts
 * const socket = io('https://example.com/chat', { auth: { token } });
 * socket.on('connect', () => socket.emit('hello', 'world'));
 * ```
 */
export function io<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents>(
  uri?: string | IoOptions,
  opts?: IoOptions,
): Socket<ListenEvents, EmitEvents> {
  if (typeof uri === 'object') {
    opts = uri;
    uri = undefined;
  }
  opts = { ...opts };
  // Outside browsers there is no page to be relative to: a URL is required (else TypeError).
  // Without a URL: the page's origin, namespace `/` (not the page's own path), as socket.io-client.
  const url = new URL(uri ?? '/', platform.location);
  const origin = url.protocol + '//' + url.host;
  const id = origin + (opts.path ?? '/socket.io');
  const nsp = url.pathname || '/';
  if (url.search && !opts.query) opts.query = url.search.slice(1);
  const sameNamespace = cache[id] && nsp in cache[id].nsps;
  let manager: Manager<ListenEvents, EmitEvents>;
  if (opts.forceNew || opts.multiplex === false || sameNamespace) manager = new Manager(origin, opts);
  else manager = cache[id] ??= new Manager(origin, opts);
  return manager.socket(nsp, opts);
}

/** Socket.IO protocol revision spoken by this client. */
export const protocol = 5;

export { io as connect, Manager, Socket };
