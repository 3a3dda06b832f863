// The one place `switchboard connect` picks its Socket.IO client: ours (src/client, socket.io-client compatible).
export { io } from '../client/index.js';
export type { Socket as ClientSocket, ManagerOptions, SocketOptions } from '../client/index.js';
