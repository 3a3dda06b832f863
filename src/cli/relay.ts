// The hub's default namespace `/`: a small relay for `switchboard connect` and any Socket.IO client.
import type { Namespace } from './server-impl.js';

const ROOM = /^[\p{L}\p{N}][\p{L}\p{N}_:.-]{0,63}$/u;
const PREFIX = 'room:';
const MAX_ROOMS = 50;

/**
 * `join(room, ack)` / `leave(room, ack)` manage rooms, `rooms(ack)` lists yours, `echo(...args, ack)`
 * acks the arguments back; every other event is relayed to the sender's rooms (or to everybody when
 * the sender is in none), the sender excluded, and acked with `{ ok: true }`.
 */
export function attachRelay(nsp: Namespace, onError: (err: unknown, event: string) => void): void {
  nsp.on('connection', (socket) => {
    const rooms = () => [...socket.rooms].filter((r) => r.startsWith(PREFIX)).map((r) => r.slice(PREFIX.length));
    socket.onAny((event: string, ...args: unknown[]) => {
      relay(event, args).catch((err: unknown) => onError(err, event));
    });
    async function relay(event: string, args: unknown[]): Promise<void> {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (...a: unknown[]) => void) : undefined;
      switch (event) {
        case 'join':
        case 'leave': {
          const room = typeof args[0] === 'string' && ROOM.test(args[0]) ? args[0] : undefined;
          if (!room) return ack?.({ ok: false, error: 'invalid room name' });
          if (event === 'join' && !socket.rooms.has(PREFIX + room) && rooms().length >= MAX_ROOMS) {
            return ack?.({ ok: false, error: `at most ${MAX_ROOMS} rooms` });
          }
          await (event === 'join' ? socket.join(PREFIX + room) : socket.leave(PREFIX + room));
          return ack?.({ ok: true, rooms: rooms() });
        }
        case 'rooms':
          return ack?.(rooms());
        case 'echo':
          return ack?.(...args);
        default: {
          const targets = rooms();
          const op = targets.length ? socket.to(targets.map((r) => PREFIX + r)) : socket.broadcast;
          op.emit(event, ...args);
          return ack?.({ ok: true });
        }
      }
    }
  });
}
