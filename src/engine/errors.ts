/**
 * Engine.IO request refusals: the numeric codes and messages clients and tools know from the
 * reference server, the HTTP status each maps to, and the two ways of answering (a normal
 * HTTP response for polling, raw bytes on the socket for a refused WebSocket upgrade).
 */
import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The error codes of Engine.IO's JSON error body (`{"code": 1, "message": "Session ID unknown"}`).
 */
export const ErrorCode = {
  UNKNOWN_TRANSPORT: 0,
  UNKNOWN_SID: 1,
  BAD_HANDSHAKE_METHOD: 2,
  BAD_REQUEST: 3,
  FORBIDDEN: 4,
  UNSUPPORTED_PROTOCOL_VERSION: 5,
} as const;
/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** The message sent with each error code. */
export const ERROR_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  0: 'Transport unknown',
  1: 'Session ID unknown',
  2: 'Bad handshake method',
  3: 'Bad request',
  4: 'Forbidden',
  5: 'Unsupported protocol version',
};

/** A refused request: protocol code, message for the body, HTTP status and a detail for logs. */
export interface Refusal {
  code: ErrorCode;
  message: string;
  status: number;
  context?: Record<string, unknown>;
}

export function refusal(code: ErrorCode, context?: Record<string, unknown>, message?: string, status?: number): Refusal {
  return {
    code,
    message: message || ERROR_MESSAGES[code],
    status: status ?? (code === ErrorCode.FORBIDDEN ? 403 : 400),
    context,
  };
}

/** Answers an HTTP request with the protocol's JSON error body. */
export function writeRefusal(res: ServerResponse, error: Refusal): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify({ code: error.code, message: error.message });
  res.writeHead(error.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

/** Refuses a WebSocket upgrade with a plain HTTP response on the raw socket, then closes it. */
export function writeUpgradeRefusal(socket: Duplex, error: Refusal): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ code: error.code, message: error.message });
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status] ?? ''}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}
