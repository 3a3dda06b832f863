// Minimal RFC 6455 framing for the load generator and the raw baseline server.
// Only what a benchmark client needs: build frames once, parse headers, skip payloads.
import { createHash, randomBytes } from 'node:crypto';

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'; // RFC 6455 §1.3

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2). */
export function acceptKey(key) {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** A fresh random Sec-WebSocket-Key. */
export function newKey() {
  return randomBytes(16).toString('base64');
}

function headerLength(len, masked) {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/**
 * One complete FIN frame. With a mask key (4 bytes) the payload is masked as a client must
 * (RFC 6455 §5.3); a non-zero key keeps servers from skipping the unmask step.
 */
export function frame(opcode, payload, maskKey) {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = data.length;
  const head = headerLength(len, !!maskKey);
  const out = Buffer.allocUnsafe(head + len);
  out[0] = 0x80 | opcode;
  const maskBit = maskKey ? 0x80 : 0;
  let p = 2;
  if (len < 126) out[1] = maskBit | len;
  else if (len < 65536) { out[1] = maskBit | 126; out.writeUInt16BE(len, 2); p = 4; }
  else { out[1] = maskBit | 127; out.writeUInt32BE(0, 2); out.writeUInt32BE(len, 6); p = 10; }
  if (maskKey) {
    maskKey.copy(out, p, 0, 4);
    p += 4;
    for (let i = 0; i < len; i++) out[p + i] = data[i] ^ maskKey[i & 3];
  } else {
    data.copy(out, p);
  }
  return out;
}

/** A random, non-zero 4-byte mask key. */
export function newMaskKey() {
  const key = randomBytes(4);
  if (key.readUInt32BE(0) === 0) key[0] = 1;
  return key;
}
