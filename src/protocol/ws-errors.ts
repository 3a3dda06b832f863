/**
 * Typed WebSocket protocol errors. Each carries a stable `code` (the same `WS_ERR_*` names the
 * `ws` package uses where one exists) and the close code to send on the wire (RFC 6455 §7.4.1).
 */

/** Error codes raised while reading frames, with the close code each one maps to. */
export const WS_ERRORS = {
  WS_ERR_INVALID_OPCODE: 1002,
  WS_ERR_UNEXPECTED_RSV_1: 1002,
  WS_ERR_UNEXPECTED_RSV_2_3: 1002,
  WS_ERR_EXPECTED_FIN: 1002,
  WS_ERR_EXPECTED_MASK: 1002,
  WS_ERR_UNEXPECTED_MASK: 1002,
  WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH: 1002,
  WS_ERR_UNEXPECTED_CONTINUATION: 1002,
  WS_ERR_EXPECTED_CONTINUATION: 1002,
  WS_ERR_INVALID_PAYLOAD_LENGTH: 1002,
  WS_ERR_INVALID_CLOSE_CODE: 1002,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_INVALID_COMPRESSED_DATA: 1007,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_BUFFERED_AMOUNT_EXCEEDED: 1008,
} as const;

/** One of the `WS_ERR_*` codes. */
export type WebSocketErrorCode = keyof typeof WS_ERRORS;

/**
 * A violation of the WebSocket protocol or of a configured limit, detected on received data.
 *
 * @example
 * ws.on('error', (err) => {
 *   if (err instanceof WebSocketProtocolError) console.log(err.code, err.closeCode);
 * });
 */
export class WebSocketProtocolError extends Error {
  /** Stable machine-readable code, e.g. `'WS_ERR_INVALID_UTF8'`. */
  readonly code: WebSocketErrorCode;
  /** The close code sent to the peer because of this error. */
  readonly closeCode: number;

  constructor(code: WebSocketErrorCode, message: string, closeCode: number = WS_ERRORS[code]) {
    super(message);
    this.name = 'WebSocketProtocolError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

/**
 * The error for a message over `maxPayload`: ws's message, plus the option to raise (our default,
 * 1 MiB, is lower than ws's 100 MiB, so code written for ws may meet it).
 */
export function maxPayloadError(maxPayload: number): WebSocketProtocolError {
  return new WebSocketProtocolError(
    'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    `Max payload size exceeded: a message is larger than maxPayload (${maxPayload} bytes); raise the maxPayload option to accept it`,
  );
}
