// The public surface, shared by the Node entry (index.ts) and the browser entry (browser.ts).
export { io, io as connect, io as default, protocol, type IoOptions } from './io.js';
export { Manager, type ManagerOptions, type ManagerReservedEvents } from './manager.js';
export { Socket, type SocketOptions, type SocketReservedEvents, type DisconnectReason } from './socket.js';
export { Backoff } from './backoff.js';
export { Engine, type EngineOptions, type TransportName } from './engine.js';
export { TransportError } from './platform-types.js';
export type {
  DefaultEventsMap,
  EventsMap,
  EventNames,
  EventParams,
  DecorateAcknowledgements,
} from './emitter.js';
