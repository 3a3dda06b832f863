/**
 * `switchboard/client/parser`: the `parser` option (a socket.io-compatible parser such as
 * `socket.io-msgpack-parser`) in browser bundles. Opt-in: import it once, and the option works on
 * every Manager made after; bundles that do not import it carry none of this code, and a `parser`
 * option given without it throws. The Node entry (`switchboard/client` in Node) imports it itself.
 *
 * @example
 * ```ts
 * import { io } from 'switchboard/client';
 * import 'switchboard/client/parser';
 * import msgpackParser from 'socket.io-msgpack-parser';
 * const socket = io('https://example.com', { parser: msgpackParser });
 * ```
 */
import { parserCodec } from '../protocol/codec.js';
import { Manager } from './manager.js';

// The parser's own checks are trusted, as socket.io-client trusts them (no second check here).
Manager._parser = (parser) => parserCodec(parser);
