/**
 * `switchboard/client/xhr`: HTTP long-polling over `XMLHttpRequest`, for browsers whose `fetch`
 * cannot be used (old WebViews, pages that patch or block it). Opt-in: only applications that
 * import it carry it.
 *
 * @example
 * ```ts
 * import { io } from 'switchboard/client';
 * import { XHR } from 'switchboard/client/xhr';
 * const socket = io('https://example.com', { transports: [XHR, 'websocket'] });
 * ```
 */
import { TransportError, type PollRequest } from './platform-types.js';
import { Polling } from './transports.js';

export class XHR extends Polling {
  override _request({ method, url, body }: PollRequest, done: (err: TransportError | null, body?: string) => void): () => void {
    const { extraHeaders, withCredentials } = this._engine.opts;
    const xhr = new XMLHttpRequest();
    xhr.open(method, url, true);
    for (const name in extraHeaders) xhr.setRequestHeader(name, extraHeaders[name]!);
    // Engine.IO v4 polling bodies are UTF-8 text.
    if (body !== undefined) xhr.setRequestHeader('Content-Type', 'text/plain;charset=UTF-8');
    xhr.withCredentials = !!withCredentials;
    xhr.onreadystatechange = () => {
      if (xhr.readyState !== 4) return;
      // Status 0: no HTTP answer (network error, CORS refusal).
      if (xhr.status === 200) done(null, xhr.responseText);
      else done(new TransportError(xhr.status ? 'HTTP ' + xhr.status : 'xhr error', xhr.status, xhr.responseText));
    };
    xhr.send(body ?? null);
    return () => {
      xhr.onreadystatechange = null;
      xhr.abort();
    };
  }
}
