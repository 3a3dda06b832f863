// uWebSockets.js for the benchmarks: the native build from @trufflesuite/uws-js-unofficial.
// That package quietly falls back to a JavaScript imitation when its binary does not load; a
// benchmark against the imitation would measure the wrong thing, so this refuses it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The native uWS.js module, or throws with the reason it is unavailable. */
export function loadUws() {
  let uws;
  try {
    uws = require('@trufflesuite/uws-js-unofficial');
  } catch (err) {
    throw new Error(`uWebSockets.js is not installed (npm install): ${err.message}`);
  }
  // Only the native module exports the compressor constants; the fallback does not.
  if (typeof uws.SHARED_COMPRESSOR !== 'number') {
    throw new Error(`uWebSockets.js has no native build for node ${process.version} (${process.platform}-${process.arch}, ABI ${process.versions.modules})`);
  }
  return uws;
}

/** Whether the native module loads here (the suites drop the uWS peers when it does not). */
export function uwsAvailable() {
  try {
    loadUws();
    return true;
  } catch {
    return false;
  }
}

/** app.listen on host:0, resolving to the port. */
export function listenApp(uws, app, host) {
  return new Promise((resolve, reject) => {
    app.listen(host, 0, (listenSocket) => {
      if (!listenSocket) reject(new Error(`uWS.js could not listen on ${host}`));
      else resolve(uws.us_socket_local_port(listenSocket));
    });
  });
}
