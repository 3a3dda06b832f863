/**
 * Close frame rules (RFC 6455 §5.5.1, §7.4): which status codes may travel on the wire, and how a
 * close payload (2-byte big-endian code + UTF-8 reason) is parsed and built.
 */
import { utf8Validate, UTF8_ACCEPT, type WholeUtf8Validator } from './utf8.js';
import { WebSocketProtocolError } from './ws-errors.js';

/** Reported when a close frame carried no status code (RFC 6455 §7.1.5). Never sent. */
export const CLOSE_NO_STATUS = 1005;
/** Reported when the connection closed without a close frame (RFC 6455 §7.1.5). Never sent. */
export const CLOSE_ABNORMAL = 1006;
/** The longest close reason in bytes: a control payload is at most 125 bytes, 2 are the code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Whether a status code may appear in a close frame (RFC 6455 §7.4.1, §7.4.2 and the IANA registry):
 * 1000-1003, 1007-1014 and 3000-4999. 1004 is reserved; 1005, 1006 and 1015 are for reporting only.
 */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

/** A parsed close frame. */
export interface ClosePayload {
  /** The status code, or 1005 when the frame was empty. */
  code: number;
  /** The raw UTF-8 reason bytes (validated). */
  reason: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * Parses and validates a close frame payload. Throws a {@link WebSocketProtocolError}: 1002 for a
 * 1-byte payload or a code that must not be sent, 1007 for a reason that is not UTF-8.
 *
 * @example
 * const { code, reason } = parseClosePayload(payload); // code 1005 for an empty payload
 */
export function parseClosePayload(
  payload: Uint8Array,
  whole?: WholeUtf8Validator,
  validateReason = true,
): ClosePayload {
  if (payload.length === 0) return { code: CLOSE_NO_STATUS, reason: EMPTY };
  if (payload.length === 1) {
    throw new WebSocketProtocolError('WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH', 'invalid close payload length 1');
  }
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) {
    throw new WebSocketProtocolError('WS_ERR_INVALID_CLOSE_CODE', `invalid close code ${code}`);
  }
  const reason = payload.subarray(2);
  if (validateReason && utf8Validate(UTF8_ACCEPT, reason, 0, reason.length, whole) !== UTF8_ACCEPT) {
    throw new WebSocketProtocolError('WS_ERR_INVALID_UTF8', 'invalid UTF-8 in close reason');
  }
  return { code, reason };
}

const encoder = new TextEncoder();

/**
 * Builds a close frame payload. `code` undefined gives an empty payload (no status). Throws a
 * `RangeError` for a code that must not be sent or a reason longer than 123 bytes.
 *
 * @example
 * buildClosePayload(1000, 'bye'); // Uint8Array [0x03, 0xe8, 0x62, 0x79, 0x65]
 */
export function buildClosePayload(code?: number, reason: string | Uint8Array = EMPTY): Uint8Array {
  if (code === undefined) {
    if (reason.length > 0) throw new RangeError('a close reason needs a close code');
    return EMPTY;
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new RangeError(`invalid close code ${code}`);
  }
  const reasonBytes = typeof reason === 'string' ? encoder.encode(reason) : reason;
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new RangeError(`close reason longer than ${MAX_CLOSE_REASON_BYTES} bytes`);
  }
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}
