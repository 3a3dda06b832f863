/**
 * The one place the event server touches the Engine.IO layer (our own, src/engine). Everything
 * else in src/server goes through these names, so the engine can change behind them.
 */
import { EngineServer, attachApp, type EngineSocket, type EngineOptions, type PreparedPacket, type UwsApp, type UwsAttachOptions } from '../engine/index.js';

export type { EngineOptions, EngineSocket, UwsApp, UwsAttachOptions };
export type Engine = EngineServer;

/** Bytes framed once for many recipients (encode once, write many). */
export type PreparedMessage = PreparedPacket;

export function createEngine(options: EngineOptions): Engine {
  return new EngineServer(options);
}

/** Serves the engine from a uWebSockets.js app. */
export function attachEngineToApp(engine: Engine, app: UwsApp, options: UwsAttachOptions): void {
  attachApp(engine, app, options);
}

/** Frames one message once for many recipients. */
export function prepareMessage(engine: Engine, data: string | Uint8Array): PreparedMessage {
  return engine.prepare(data);
}

/**
 * Whether a volatile packet goes out: only when the transport can write it at once, that is a
 * polling GET is waiting or the WebSocket has nothing buffered, and nothing is queued before it
 * (socket.io's rule: of several volatile packets in a row only the first leaves, and one right
 * after a regular packet is dropped).
 */
export function canWriteNow(socket: EngineSocket): boolean {
  return socket.transport.writable && socket.bufferedAmount === 0;
}

const COMPRESS = Object.freeze({ compress: true });
const NO_COMPRESS = Object.freeze({ compress: false });

/** The options of a `send` with this compression flag: shared objects, none made per packet. */
export function sendOptions(compress: boolean): { readonly compress: boolean } {
  return compress ? COMPRESS : NO_COMPRESS;
}
