/**
 * The `engine.io`-style entry points: `attach(httpServer, options)` and `listen(port, options, cb)`,
 * so code written as `require('engine.io').listen(3000)` moves over by changing its import.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { EngineServer, type AttachOptions, type EngineOptions } from './server.js';

/** Creates an engine and attaches it to an existing `http`/`https` server. */
export function attach(server: HttpServer, options: EngineOptions & AttachOptions = {}): EngineServer {
  return new EngineServer(options).attach(server, options);
}

/**
 * Creates an HTTP server on `port` that serves only the engine (other requests get 501, as
 * engine.io's) and returns the engine; the HTTP server is `engine.httpServer`.
 *
 * @example
 * ```ts
 * import { listen } from 'switchboard/engine';
 * const engine = listen(3000, { path: '/engine.io/' });
 * engine.on('connection', (socket) => socket.send('hello'));
 * ```
 */
export function listen(port: number, options?: (EngineOptions & AttachOptions) | (() => void), callback?: () => void): EngineServer {
  if (typeof options === 'function') {
    callback = options;
    options = undefined;
  }
  const server = createServer((_req, res) => {
    res.writeHead(501);
    res.end('Not Implemented');
  });
  const engine = attach(server, options);
  server.listen(port, callback);
  return engine;
}
