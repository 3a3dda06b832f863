/**
 * A WebSocket as a Node.js Duplex stream, like `ws`'s `createWebSocketStream`: what is written goes
 * out as messages, received messages come out as chunks, with backpressure both ways (a full readable
 * side pauses the WebSocket; writes complete when the socket took them).
 */
import { Duplex, type DuplexOptions } from 'node:stream';
import { WebSocket } from './websocket.js';

/**
 * Wraps `ws` in a Duplex. Ending the writable side starts the closing handshake (it finishes when
 * our side of the TCP connection is done); the readable side ends when the connection closes; once
 * both are over the stream is destroyed and emits 'close'. Destroying the stream terminates the
 * connection. `options` go to the Duplex, except the write side and `objectMode`, which stay byte
 * streams; with `readableObjectMode`, text messages come out as strings.
 *
 * @example
 * import { pipeline } from 'node:stream/promises';
 * const ws = new WebSocket('ws://localhost:8080');
 * await pipeline(process.stdin, createWebSocketStream(ws), process.stdout);
 */
export function createWebSocketStream(ws: WebSocket, options?: DuplexOptions): Duplex {
  // An error from the WebSocket has already ended it: destroying the stream must not terminate it again.
  let terminateOnDestroy = true;
  const whenOpen = (fn: () => void): boolean => {
    if (ws.readyState !== WebSocket.CONNECTING) return false;
    ws.once('open', fn);
    return true;
  };

  const duplex = new Duplex({
    ...options,
    autoDestroy: false,
    emitClose: false,
    objectMode: false,
    writableObjectMode: false,
    read() {
      if (ws.isPaused) ws.resume();
    },
    write(chunk: Buffer | string, encoding, callback) {
      if (whenOpen(() => duplex._write(chunk, encoding, callback))) return;
      ws.send(chunk, (error) => callback(error ?? null));
    },
    final(callback) {
      if (whenOpen(() => duplex._final(callback))) return;
      const finished = ws._whenSocketFinished(() => callback());
      if (finished === 'done') {
        callback();
        if (duplex.readableEnded) duplex.destroy();
      } else if (finished === 'waiting') {
        ws.close();
      }
    },
    destroy(error, callback) {
      const emitClose = (): void => void process.nextTick(() => duplex.emit('close'));
      if (ws.readyState === WebSocket.CLOSED) {
        callback(error);
        emitClose();
        return;
      }
      // 'close' last, after the error the WebSocket may report on the way.
      let reported = false;
      ws.once('error', (wsError: Error) => {
        reported = true;
        callback(wsError);
      });
      ws.once('close', () => {
        if (!reported) callback(error);
        emitClose();
      });
      if (terminateOnDestroy) ws.terminate();
    },
  });

  ws.on('message', (data, isBinary) => {
    const chunk = !isBinary && duplex.readableObjectMode ? String(data) : data;
    if (!duplex.push(chunk)) ws.pause();
  });
  ws.once('error', (error) => {
    if (duplex.destroyed) return;
    terminateOnDestroy = false;
    duplex.destroy(error);
  });
  ws.once('close', () => {
    if (!duplex.destroyed) duplex.push(null);
  });
  // Both sides over (the readable one last): release the stream.
  duplex.on('end', () => {
    if (!duplex.destroyed && duplex.writableFinished) duplex.destroy();
  });
  // A failed write (e.g. after the connection closed) destroys the stream; the error still reaches
  // the user's 'error' listeners, or is thrown as usual when there are none.
  const onError = (error: Error): void => {
    duplex.off('error', onError);
    duplex.destroy();
    if (duplex.listenerCount('error') === 0) duplex.emit('error', error);
  };
  duplex.on('error', onError);
  return duplex;
}
