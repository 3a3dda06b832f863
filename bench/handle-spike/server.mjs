// Server child for the TCP-handle spike (bench/README.md, "A JavaScript transport on the TCP
// handle"): --impl handle serves WebSocket echo on libuv's TCP handle (./transport.mjs); any other
// --impl is the server child of bench/native-spike (bare) or bench/lib/server-ws.mjs (switchboard,
// net, uws, ws), so that one runner measures them side by side.
import { arg, serveControl } from '../lib/serverctl.mjs';

const impl = arg('impl', 'handle');
const mode = arg('mode', 'echo');
if (impl === 'handle') {
  if (mode !== 'echo') throw new Error('the handle transport serves echo only');
  const { listenEcho } = await import('./transport.mjs');
  const { port, clients } = listenEcho('127.0.0.1');
  serveControl(port, clients);
} else {
  await import('../lib/server-ws.mjs');
}
