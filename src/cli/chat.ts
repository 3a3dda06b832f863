// The demo chat's server side, on the `/chat` namespace: nicknames, rooms, presence, typing,
// acknowledged messages and a bounded in-memory history for late joiners.
import { randomBytes } from 'node:crypto';
import type { Namespace, Socket } from './server-impl.js';

/** One chat line as stored and sent to clients. */
export interface ChatMessage {
  id: string;
  room: string;
  nickname: string;
  text: string;
  /** Server time, ms since epoch. */
  ts: number;
}

export interface ChatLimits {
  /** Messages kept per room for late joiners (default 100). */
  historyPerRoom: number;
  /** Rooms whose history is kept; the least recently active is forgotten first (default 200). */
  historyRooms: number;
  /** Rooms one socket may be in at once (default 10). */
  roomsPerSocket: number;
  /** Longest message, in characters (default 1000). */
  maxTextLength: number;
  /** Burst of messages a socket may send before being throttled, refilled at `ratePerSecond` (default 10, 5). */
  burst: number;
  ratePerSecond: number;
}

export const DEFAULT_CHAT_LIMITS: ChatLimits = {
  historyPerRoom: 100, historyRooms: 200, roomsPerSocket: 10, maxTextLength: 1000, burst: 10, ratePerSecond: 5,
};

const NICKNAME = /^[\p{L}\p{N}][\p{L}\p{N} _.'-]{0,23}$/u;
const ROOM = /^[\p{L}\p{N}][\p{L}\p{N}_-]{0,31}$/u;
/** User rooms live under a prefix so a room name can never equal a socket id (each socket's private room). */
const ROOM_PREFIX = 'room:';

/** A trimmed, NFC-normalised nickname, or undefined when it is not acceptable. */
export function validNickname(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 100) return undefined;
  const name = input.normalize('NFC').trim().replace(/\s+/g, ' ');
  return NICKNAME.test(name) ? name : undefined;
}

/**
 * `wanted`, or `wanted 2`, `wanted 3`, ... (shortened to fit 24 characters): the first that no one in
 * `taken` uses. Names compare case-insensitively, so "Ada" and "ada" cannot both be in the chat.
 */
export function freeNickname(wanted: string, taken: ReadonlySet<string>): string {
  let candidate = wanted;
  for (let n = 2; taken.has(nicknameKey(candidate)); n++) {
    const suffix = ` ${n}`;
    candidate = `${wanted.slice(0, 24 - suffix.length).trimEnd()}${suffix}`;
  }
  return candidate;
}

const nicknameKey = (name: string): string => name.toLocaleLowerCase('en');
/** How long a nickname stays reserved for a socket still in its handshake. */
const CLAIM_MS = 10_000;

/** A room name as typed (letters, digits, `_`, `-`, up to 32), or undefined. */
export function validRoom(input: unknown): string | undefined {
  if (typeof input !== 'string' || input.length > 100) return undefined;
  const name = input.normalize('NFC').trim();
  return ROOM.test(name) ? name : undefined;
}

/** A message text (no control characters except newline and tab), or undefined. */
export function validText(input: unknown, maxLength: number): string | undefined {
  if (typeof input !== 'string') return undefined;
  const text = input.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim();
  return text.length > 0 && text.length <= maxLength ? text : undefined;
}

type Reply = (response: unknown) => void;
const noReply: Reply = () => {};
/** The client decides whether it wants an ack; never trust that the last argument is a function. */
const replyOf = (ack: unknown): Reply => (typeof ack === 'function' ? (ack as Reply) : noReply);

interface ChatData { nickname: string; tokens: number; refilledAt: number }

/** Bounded per-room history; Map order doubles as least-recently-active order. */
export class ChatHistory {
  private readonly rooms = new Map<string, ChatMessage[]>();
  constructor(private readonly perRoom: number, private readonly maxRooms: number) {}

  add(message: ChatMessage): void {
    const list = this.rooms.get(message.room) ?? [];
    this.rooms.delete(message.room);
    this.rooms.set(message.room, list);
    list.push(message);
    if (list.length > this.perRoom) list.splice(0, list.length - this.perRoom);
    if (this.rooms.size > this.maxRooms) this.rooms.delete(this.rooms.keys().next().value!);
  }

  of(room: string): ChatMessage[] { return this.rooms.get(room)?.slice() ?? []; }
}

/**
 * Wires the chat onto `nsp`. Client → server events: `join(room, ack)`, `leave(room, ack)`,
 * `message({room, text}, ack)`, `typing({room, typing})`. Server → client: `welcome`, `message`,
 * `presence`, `typing`, `rooms`.
 */
export function attachChat(
  nsp: Namespace,
  onError: (err: unknown, event: string) => void,
  limits: ChatLimits = DEFAULT_CHAT_LIMITS,
): { history: ChatHistory; stop(): void } {
  let stopped = false;
  /** Handlers are async (adapters may be remote); a failure is logged, never an unhandled rejection. */
  const guard = <A extends unknown[]>(event: string, fn: (...args: A) => unknown) => (...args: A): void => {
    try { Promise.resolve(fn(...args)).catch((err: unknown) => onError(err, event)); } catch (err) { onError(err, event); }
  };
  const history = new ChatHistory(limits.historyPerRoom, limits.historyRooms);
  let roomsTimer: NodeJS.Timeout | undefined;

  /**
   * Nicknames given on this node to sockets still in their handshake: fetchSockets() does not see
   * them yet, and two tabs opening at once must not both become "ada". A claim lasts until the
   * socket connects, or CLAIM_MS for one whose client went away during the handshake.
   */
  const claimed = new Map<string, { socket: Socket; at: number }>();

  nsp.use((socket, next) => {
    const wanted = validNickname(socket.handshake.auth?.nickname);
    if (!wanted) {
      const err = new Error('invalid nickname: 1-24 letters, digits, spaces, . _ \' -') as Error & { data?: unknown };
      err.data = { code: 'INVALID_NICKNAME' };
      return next(err);
    }
    // A nickname in use (on any node) gets a number: "ada 2". The client learns it from `welcome`.
    void nsp.fetchSockets().catch(() => []).then((sockets) => {
      const taken = new Set(sockets.map((s) => nicknameKey((s.data as ChatData).nickname)));
      const now = Date.now();
      for (const [key, claim] of claimed) {
        if (now - claim.at < CLAIM_MS) taken.add(key);
        else claimed.delete(key);
      }
      const nickname = freeNickname(wanted, taken);
      claimed.set(nicknameKey(nickname), { socket, at: now });
      socket.data = { nickname, tokens: limits.burst, refilledAt: Date.now() } satisfies ChatData;
      next();
    });
  });

  /** Who is in a room, across every node of the adapter. */
  async function members(room: string): Promise<string[]> {
    const sockets = await nsp.in(ROOM_PREFIX + room).fetchSockets().catch(() => []);
    return sockets.map((s) => (s.data as ChatData).nickname).sort((a, b) => a.localeCompare(b));
  }

  async function announce(room: string, change: { joined?: string; left?: string }): Promise<void> {
    if (stopped) return; // shutting down: the adapter may already be gone
    const list = await members(room);
    if (!stopped) nsp.to(ROOM_PREFIX + room).emit('presence', { room, members: list, ...change });
    scheduleRoomList();
  }

  /** Room list with sizes, coalesced so a burst of joins costs one fetch and one broadcast. */
  function scheduleRoomList(): void {
    if (roomsTimer || stopped) return;
    roomsTimer = setTimeout(guard('rooms', async () => {
      roomsTimer = undefined;
      const list = await roomList();
      if (!stopped) nsp.emit('rooms', list);
    }), 100);
    roomsTimer.unref();
  }

  async function roomList(): Promise<{ name: string; size: number }[]> {
    const sockets = await nsp.fetchSockets().catch(() => []);
    const sizes = new Map<string, number>();
    for (const s of sockets) {
      for (const r of s.rooms) if (r.startsWith(ROOM_PREFIX)) sizes.set(r, (sizes.get(r) ?? 0) + 1);
    }
    return [...sizes].map(([r, size]) => ({ name: r.slice(ROOM_PREFIX.length), size }))
      .sort((a, b) => b.size - a.size || a.name.localeCompare(b.name));
  }

  function allow(socket: Socket): boolean {
    const data = socket.data as ChatData;
    const now = Date.now();
    data.tokens = Math.min(limits.burst, data.tokens + ((now - data.refilledAt) / 1000) * limits.ratePerSecond);
    data.refilledAt = now;
    if (data.tokens < 1) return false;
    data.tokens -= 1;
    return true;
  }

  const joined = (socket: Socket): string[] =>
    [...socket.rooms].filter((r) => r.startsWith(ROOM_PREFIX)).map((r) => r.slice(ROOM_PREFIX.length));

  nsp.on('connection', guard('connection', async (socket: Socket) => {
    const { nickname } = socket.data as ChatData;
    // Connected: fetchSockets() sees it from now on.
    if (claimed.get(nicknameKey(nickname))?.socket === socket) claimed.delete(nicknameKey(nickname));

    socket.on('join', guard('join', async (input: unknown, ack: unknown) => {
      const reply = replyOf(ack);
      const room = validRoom(input);
      if (!room) return reply({ ok: false, error: 'invalid room name: 1-32 letters, digits, _ or -' });
      if (!socket.rooms.has(ROOM_PREFIX + room)) {
        if (joined(socket).length >= limits.roomsPerSocket) {
          return reply({ ok: false, error: `at most ${limits.roomsPerSocket} rooms at once` });
        }
        await socket.join(ROOM_PREFIX + room);
      }
      reply({ ok: true, room, history: history.of(room), members: await members(room) });
      await announce(room, { joined: nickname });
    }));

    socket.on('leave', guard('leave', async (input: unknown, ack: unknown) => {
      const reply = replyOf(ack);
      const room = validRoom(input);
      if (!room || !socket.rooms.has(ROOM_PREFIX + room)) return reply({ ok: false, error: 'not in that room' });
      await socket.leave(ROOM_PREFIX + room);
      reply({ ok: true, room });
      await announce(room, { left: nickname });
    }));

    socket.on('message', guard('message', (input: unknown, ack: unknown) => {
      const reply = replyOf(ack);
      const body = (typeof input === 'object' && input !== null ? input : {}) as { room?: unknown; text?: unknown };
      const room = validRoom(body.room);
      const text = validText(body.text, limits.maxTextLength);
      if (!room || !socket.rooms.has(ROOM_PREFIX + room)) return reply({ ok: false, error: 'join the room first' });
      if (!text) return reply({ ok: false, error: `message must be 1-${limits.maxTextLength} characters` });
      if (!allow(socket)) return reply({ ok: false, error: 'slow down: too many messages' });
      const message: ChatMessage = { id: randomBytes(9).toString('base64url'), room, nickname, text, ts: Date.now() };
      history.add(message);
      socket.to(ROOM_PREFIX + room).emit('message', message);
      reply({ ok: true, id: message.id, ts: message.ts });
    }));

    socket.on('typing', guard('typing', (input: unknown) => {
      const body = (typeof input === 'object' && input !== null ? input : {}) as { room?: unknown; typing?: unknown };
      const room = validRoom(body.room);
      if (!room || !socket.rooms.has(ROOM_PREFIX + room)) return;
      socket.to(ROOM_PREFIX + room).volatile.emit('typing', { room, nickname, typing: body.typing === true });
    }));

    socket.on('disconnecting', () => {
      const rooms = joined(socket);
      // Presence is recomputed once the socket has actually left its rooms.
      socket.once('disconnect', guard('disconnect', () => Promise.all(rooms.map((room) => announce(room, { left: nickname })))));
    });

    socket.emit('welcome', { nickname, rooms: await roomList() });
  }));

  return { history, stop: () => { stopped = true; clearTimeout(roomsTimer); } };
}
