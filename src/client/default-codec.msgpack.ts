/**
 * The default codec of the msgpack browser build (`switchboard.msgpack.min.js`,
 * `socket.io.msgpack.min.js`): socket.io-msgpack-parser, for servers that use the same parser.
 */
import msgpackParser from 'socket.io-msgpack-parser';
import { parserCodec, type PacketCodec } from '../protocol/codec.js';

export const defaultCodec = (): PacketCodec => parserCodec(msgpackParser);

// The msgpack parser encodes Blobs itself; the Manager's BLOB fallback keeps its portable form.
export { encodePacketAsync } from '../protocol/socketio.js';
