/**
 * A WebSocket as a Node.js Duplex stream, like `ws`'s `createWebSocketStream`: what is written goes
 * out as messages, received messages come out as chunks, with backpressure both ways (a full readable
 * side pauses the WebSocket; writes complete when the socket took them).
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { WebSocket } from './websocket.js';

/**
 * Wraps `ws` in a Duplex. Ending the writable side starts the closing handshake; the readable side
 * ends when the connection closes; destroying the stream terminates the connection.
 *
 * @example
 * import { pipeline } from 'node:stream/promises';
 * const ws = new WebSocket('ws://localhost:8080');
 * await pipeline(process.stdin, createWebSocketStream(ws), process.stdout);
 */
export function createWebSocketStream(ws: WebSocket, options: DuplexOptions = {}): Duplex {
  let closed = ws.readyState === WebSocket.CLOSED;
  const whenOpen = (fn: () => void): boolean => {
    if (ws.readyState !== WebSocket.CONNECTING) return false;
    ws.once('open', fn);
    return true;
  };

  const duplex = new Duplex({
    ...options,
    // Messages are byte chunks on both sides (text in object mode on the readable side, see below).
    objectMode: false,
    writableObjectMode: false,
    autoDestroy: false,
    emitClose: false,
    read() {
      ws.resume();
    },
    write(chunk: Buffer | string, _encoding, callback) {
      if (whenOpen(() => duplex._write(chunk, _encoding, callback))) return;
      ws.send(chunk, (error) => callback(error ?? null));
    },
    final(callback) {
      if (whenOpen(() => duplex._final(callback))) return;
      if (closed) return callback();
      ws.once('close', () => callback());
      ws.close();
    },
    destroy(error, callback) {
      // 'close' last, after the 'error' that destroy() emits on the next tick.
      const done = () => {
        callback(error);
        process.nextTick(() => duplex.emit('close'));
      };
      if (closed) return done();
      ws.once('close', done);
      ws.terminate();
    },
  });

  ws.on('message', (data, isBinary) => {
    const chunk = !isBinary && duplex.readableObjectMode ? String(data) : data;
    if (!duplex.push(chunk)) ws.pause();
  });
  ws.once('error', (error) => {
    if (!duplex.destroyed) duplex.destroy(error);
  });
  ws.once('close', () => {
    closed = true;
    if (duplex.destroyed) return;
    duplex.push(null);
    // Both sides are done once the readable side has ended: release the stream.
    if (duplex.writableFinished || duplex.writableEnded) duplex.once('end', () => duplex.destroy());
  });
  return duplex;
}
