/**
 * Whether protocol errors that only ever reach our own code carry a readable message. True
 * everywhere but in the browser bundle, whose build defines SWITCHBOARD_BROWSER
 * (scripts/build-client.mjs): there this folds to false and the text drops out of the bundle, the
 * error keeping its code as message. The server and Node clients keep every message.
 */
declare const SWITCHBOARD_BROWSER: boolean | undefined;
export const DETAILED_ERRORS = typeof SWITCHBOARD_BROWSER === 'undefined';
