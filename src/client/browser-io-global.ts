/**
 * Entry of the scripts served at socket.io's URLs (`socket.io.js`, `socket.io.min.js`,
 * `socket.io.msgpack.min.js`): the global `io`, a function with `io.Manager`, `io.Socket`,
 * `io.connect` and `io.protocol`, as socket.io-client's script defines it.
 */
import { io, Manager, protocol, Socket } from './browser.js';

(globalThis as Record<string, unknown>).io = Object.assign(io, { io, connect: io, Manager, Socket, protocol });
