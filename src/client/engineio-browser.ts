/**
 * Engine.IO v4 packet framing for the browser bundle only: the same functions and results as
 * `src/protocol/engineio.ts` (the build aliases that module to this one), but with the browser's
 * native base64 (`atob`/`btoa`) instead of a portable table-driven codec, which keeps the bundle
 * within its size budget. test/client/engineio-browser.test.ts checks that both agree.
 */
import type { EnginePacket, OpenPacketData, PacketType } from '../protocol/engineio.js';

export type { EnginePacket, OpenPacketData, PacketType };

export const PROTOCOL = 4;

const TYPES: PacketType[] = ['open', 'close', 'ping', 'pong', 'message', 'upgrade', 'noop'];

/** WebSocket (`supportsBinary`): bytes as they are; polling: `b` + base64. */
export function encodePacket(packet: EnginePacket, supportsBinary = true): string | Uint8Array {
  const { data } = packet;
  if (typeof data !== 'object') return TYPES.indexOf(packet.type) + (data ?? '');
  if (supportsBinary) return data;
  let binary = '';
  // Chunked: spreading a large array into one call would overflow the stack.
  for (let i = 0; i < data.length; i += 4096) binary += String.fromCharCode(...data.subarray(i, i + 4096));
  return 'b' + btoa(binary);
}

export function decodePacket(input: string | Uint8Array | ArrayBuffer): EnginePacket {
  if (typeof input !== 'string') return { type: 'message', data: input instanceof Uint8Array ? input : new Uint8Array(input) };
  if (input[0] === 'b') return { type: 'message', data: Uint8Array.from(atob(input.slice(1)), (c) => c.charCodeAt(0)) };
  const type = TYPES[input.charCodeAt(0) - 48];
  if (!type) throw new Error('unknown packet type');
  return input.length > 1 || type === 'message' ? { type, data: input.slice(1) } : ({ type } as EnginePacket);
}

/** Polling payload: packets joined by the record separator (Engine.IO v4). */
export const encodePayload = (packets: readonly EnginePacket[]): string =>
  packets.map((packet) => encodePacket(packet, false)).join('\x1e');

export const decodePayload = (payload: string): EnginePacket[] => payload.split('\x1e').map(decodePacket);

/** Validates the open packet's JSON (the Engine reads only the protocol fields from it). */
export function parseOpenData(text: string | undefined): OpenPacketData {
  const open = JSON.parse(text!);
  const { sid, upgrades, pingInterval, pingTimeout, maxPayload = 0 } = open ?? {};
  // `every?.()`: only arrays have it (JSON holds no functions; a non-function `every` throws too).
  if (typeof sid != 'string' || !sid || !upgrades?.every?.((u: unknown) => typeof u == 'string') || ![pingInterval, pingTimeout, maxPayload].every((n) => typeof n == 'number' && n >= 0 && n < 1 / 0)) {
    throw new Error('invalid open packet');
  }
  return { ...open, maxPayload };
}
