// The one place the hub picks its Socket.IO server: ours (src/server, socket.io v4 API).
import { Server } from '../server/index.js';
export { Server };
export type { Socket, Namespace } from '../server/index.js';

/** Where the Server serves the browser client bundle, and the global it defines. */
export function browserClient(_path: string): { src: string; global: string } {
  return { src: '/switchboard/client.js', global: 'switchboard' };
}
