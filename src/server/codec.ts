// The packet codec lives with the protocol (the client uses it too); re-exported for the server.
export * from '../protocol/codec.js';
