// `switchboard connect`: an interactive client. Socket.IO mode emits events (with acks) and prints
// everything that arrives; `--raw` speaks plain WebSocket frames, like a small websocat.
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import { io, type ClientSocket } from './client-impl.js';
import { WebSocket } from './ws-impl.js';
import { UsageError } from './args.js';

export interface ConnectOptions {
  url: string;
  namespace?: string;
  /** JSON object sent as the CONNECT auth payload. */
  auth?: string;
  transport?: 'polling' | 'websocket';
  path: string;
  raw: boolean;
  /** Raw mode: send each input line as a binary frame. */
  binary: boolean;
  protocol?: string[];
  json: boolean;
  ackTimeout: number;
  input: NodeJS.ReadableStream;
  output: NodeJS.WritableStream;
  errors: NodeJS.WritableStream;
  interactive: boolean;
}

export const COMMANDS_HELP = `Commands (one per line):
  emit <event> [args]   emit an event; args are JSON values separated by commas
                        (emit chat "hi", 2, {"a":1}), or else one plain-text string
  call <event> [args]   emit and wait for the server's acknowledgement
  join <room>           ask the server to put you in a room (emits "join" with an ack)
  leave <room>          ask the server to take you out of a room (emits "leave" with an ack)
  wait <ms>             pause before the next command (useful in scripts)
  help                  this list
  quit                  disconnect and exit (so does end of input, after pending acks)
Incoming events print as:  < event [args as JSON]`;

export const RAW_HELP = `Raw mode: each input line is sent as a text frame (binary with --binary), except:
  /binary <hex>         send a binary frame
  /ping [text]          send a ping frame
  /close [code [reason]] close the connection
  //text                send a text frame starting with "/"
Incoming text frames print as they are; binary frames as "< binary N bytes: <hex>".`;

/** The exit status of `switchboard connect` (2 is a usage error, from the command line parser). */
export const EXIT = {
  OK: 0,
  /** The connection failed, was refused, or was lost without being asked to close. */
  CONNECTION: 1,
  /** A call, join or leave got no acknowledgement in time (the session otherwise went well). */
  ACK_TIMEOUT: 3,
} as const;

export const EXIT_HELP = `Exit status: 0 done, 1 the connection failed or was lost, 2 a usage error,
3 an acknowledgement did not come within --ack-timeout.`;

/** How long the end of input waits after an event sent without an acknowledgement. */
const EMIT_SETTLE_MS = 250;

/** What a close code means, for people reading `closed: <code>` (RFC 6455 section 7.4.1). */
const CLOSE_CODE_NAMES: Record<number, string> = {
  1000: 'normal closure', 1001: 'going away', 1002: 'protocol error', 1003: 'unsupported data',
  1005: 'no status code', 1006: 'abnormal closure: the connection ended without a close frame',
  1007: 'invalid payload data', 1008: 'policy violation', 1009: 'message too big',
  1010: 'mandatory extension missing', 1011: 'internal server error', 1012: 'service restart',
  1013: 'try again later', 1014: 'bad gateway', 1015: 'TLS handshake failure',
};

/** A hint for an HTTP status that usually means the wrong mode: Socket.IO against plain WebSocket, or the reverse. */
function modeHint(raw: boolean, message: string): string {
  if (!raw && /\b426\b/.test(message)) return ' (the server wants a plain WebSocket: add --raw and use a ws:// URL)';
  if (!raw && /^timeout$/.test(message)) return ' (no Socket.IO handshake came: if this is a plain WebSocket server, add --raw)';
  if (raw && /\b400\b/.test(message)) return ' (a Socket.IO server answers 400 to a plain WebSocket: drop --raw)';
  return '';
}

/** Runs until the connection ends or input ends; resolves to the process exit status. */
export function runConnect(opts: ConnectOptions): Promise<number> {
  return opts.raw ? runRaw(opts) : runSocketIo(opts);
}

/** Parses what follows an event name: comma-separated JSON values, else the text as one string. */
export function parseArgsText(rest: string): unknown[] {
  const text = rest.trim();
  if (text === '') return [];
  try {
    const values = JSON.parse(`[${text}]`, dropProto) as unknown[];
    return values;
  } catch {
    return [text];
  }
}

/** JSON reviver that refuses prototype-polluting keys. */
function dropProto(key: string, value: unknown): unknown {
  return key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : value;
}

/** JSON for display: binary as base64 (JSON mode) or a short hex summary. */
function show(value: unknown, json: boolean): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : ArrayBuffer.isView(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : undefined;
    if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
      return json ? { $binary: Buffer.from((v as { data: number[] }).data).toString('base64') } : `<binary ${(v as { data: number[] }).data.length} bytes>`;
    }
    if (!bytes) return v;
    return json ? { $binary: Buffer.from(bytes).toString('base64') } : `<binary ${bytes.length} bytes>`;
  }) ?? 'undefined';
}

class Printer {
  /** The interactive prompt, while one is shown: output is written above it, not into it. */
  prompt: Interface | undefined;
  constructor(private readonly opts: ConnectOptions) {}
  /** Data the user asked for (events, acks, frames): stdout. */
  data(type: string, text: string, fields: Record<string, unknown>): void {
    this.write(this.opts.output, this.opts.json ? `${JSON.stringify({ type, ...fields }, jsonSafe)}\n` : `${text}\n`);
  }
  /** Connection status and problems: stderr in text mode, stdout in JSON mode (one stream to parse). */
  status(type: string, text: string, fields: Record<string, unknown> = {}): void {
    if (this.opts.json) this.write(this.opts.output, `${JSON.stringify({ type, ...fields }, jsonSafe)}\n`);
    else this.write(this.opts.errors, `${text}\n`);
  }
  /** Clears the prompt line, writes, then draws the prompt again with what the user had typed. */
  private write(stream: NodeJS.WritableStream, text: string): void {
    const prompt = this.prompt;
    if (!prompt) return void stream.write(text);
    clearLine(this.opts.output, 0);
    cursorTo(this.opts.output, 0);
    stream.write(text);
    prompt.prompt(true);
  }
}

function jsonSafe(_key: string, v: unknown): unknown {
  if (v instanceof ArrayBuffer) return { $binary: Buffer.from(v).toString('base64') };
  if (ArrayBuffer.isView(v)) return { $binary: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return { $binary: Buffer.from((v as { data: number[] }).data).toString('base64') };
  }
  return v;
}

/** Reads lines and runs them one at a time, in order; resolves when input ends or `stop()` is called. */
function lineLoop(opts: ConnectOptions, print: Printer, handle: (line: string) => Promise<boolean | void>): { done: Promise<void>; stop(): void } {
  const rl = createInterface({ input: opts.input, output: opts.interactive ? opts.output : undefined, terminal: opts.interactive });
  if (opts.interactive) {
    rl.setPrompt('> ');
    rl.prompt();
    print.prompt = rl;
    rl.once('close', () => { print.prompt = undefined; });
  }
  let chain = Promise.resolve();
  let stopped = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const stop = () => { if (!stopped) { stopped = true; rl.close(); } };
  rl.on('line', (line) => {
    chain = chain.then(async () => {
      if (stopped) return;
      const keepGoing = await handle(line);
      if (keepGoing === false) stop();
      else if (opts.interactive) rl.prompt();
    });
  });
  // End of input: finish the lines already read (and their acks), then resolve.
  rl.on('close', () => { void chain.then(resolveDone); });
  return { done, stop };
}

async function runSocketIo(opts: ConnectOptions): Promise<number> {
  const print = new Printer(opts);
  let target: URL;
  try {
    target = new URL(opts.url.replace(/^ws(s?):/, 'http$1:'));
  } catch {
    throw new UsageError(`invalid URL "${opts.url}"`, 'connect');
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new UsageError(`URL must start with http://, https://, ws:// or wss:// (got "${opts.url}")`, 'connect');
  if (opts.namespace) target.pathname = opts.namespace.startsWith('/') ? opts.namespace : `/${opts.namespace}`;
  let auth: Record<string, unknown> | undefined;
  if (opts.auth !== undefined) {
    try {
      auth = JSON.parse(opts.auth, dropProto) as Record<string, unknown>;
    } catch {
      auth = undefined;
    }
    if (!auth || typeof auth !== 'object' || Array.isArray(auth)) throw new UsageError(`--auth must be a JSON object, e.g. --auth '{"token":"abc"}' (got ${JSON.stringify(opts.auth.slice(0, 80))})`, 'connect');
  }

  const socket: ClientSocket = io(target.toString(), {
    path: opts.path,
    forceNew: true,
    ...(auth ? { auth } : {}),
    ...(opts.transport ? { transports: [opts.transport] } : {}),
  });
  const nsp = target.pathname;

  return new Promise<number>((resolve) => {
    let everConnected = false;
    let finished = false;
    let ackTimedOut = false;
    /** When the last event without an acknowledgement left (see the end of input below). */
    let lastEmitAt = 0;
    let input: ReturnType<typeof lineLoop> | undefined;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      input?.stop();
      socket.offAny();
      socket.disconnect();
      resolve(code);
    };

    socket.on('connect', () => {
      const transport = socket.io.engine.transport.name;
      print.status('connect', `connected to ${target.origin} namespace ${nsp} (id ${socket.id}, ${transport})`, { id: socket.id, nsp, transport });
      // An upgrade that completes while the connection is going down is not news.
      socket.io.engine.once('upgrade', (t: { name: string }) => { if (socket.connected) print.status('upgrade', `upgraded to ${t.name}`, { transport: t.name }); });
      if (everConnected) return;
      everConnected = true;
      input = lineLoop(opts, print, (line) => command(line));
      // A server may drop events that arrive in the same read as the DISCONNECT that follows them
      // (socket.io does): after a plain emit, give it a moment before leaving.
      void input.done.then(() => {
        const settle = Math.max(0, lastEmitAt + EMIT_SETTLE_MS - Date.now());
        setTimeout(() => finish(ackTimedOut ? EXIT.ACK_TIMEOUT : EXIT.OK), settle);
      });
    });
    socket.on('connect_error', (err: Error & { data?: unknown }) => {
      const data = err.data !== undefined ? ` ${show(err.data, false)}` : '';
      print.status('connect_error', `connect error: ${err.message}${data} (${opts.url}, namespace ${nsp})${modeHint(false, err.message)}`, { message: err.message, data: err.data, url: opts.url, nsp });
      // Refused by the server (middleware), or never reachable: nothing to retry interactively.
      if (!everConnected || !socket.active) finish(EXIT.CONNECTION);
    });
    socket.on('disconnect', (reason: string) => {
      print.status('disconnect', `disconnected: ${reason}${socket.active ? ' (reconnecting...)' : ''}`, { reason });
      if (!socket.active && !finished) finish(reason !== 'io client disconnect' ? EXIT.CONNECTION : ackTimedOut ? EXIT.ACK_TIMEOUT : EXIT.OK);
    });
    socket.io.on('reconnect_attempt', (n: number) => print.status('reconnect_attempt', `reconnecting (attempt ${n})`, { attempt: n }));

    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as () => void) : undefined;
      print.data('event', `< ${event}${args.length ? ` ${args.map((a) => show(a, false)).join(' ')}` : ''}`, { event, args });
      ack?.(); // the server asked for an acknowledgement: confirm receipt
    });

    async function command(line: string): Promise<boolean | void> {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
      const [verb = '', ...restWords] = trimmed.split(/\s+/);
      const afterVerb = trimmed.slice(verb.length).trim();
      switch (verb) {
        case 'help': print.status('help', COMMANDS_HELP, { text: COMMANDS_HELP }); return;
        case 'quit': case 'exit': return false;
        case 'wait': {
          const ms = Number(restWords[0]);
          if (!Number.isFinite(ms) || ms < 0 || ms > 3_600_000) return print.status('error', 'usage: wait <ms>', { message: 'usage: wait <ms>' });
          await new Promise((r) => setTimeout(r, ms));
          return;
        }
        case 'join': case 'leave': {
          if (!restWords[0]) return print.status('error', `usage: ${verb} <room>`, { message: `usage: ${verb} <room>` });
          return withAck(verb, [restWords.join(' ')]);
        }
        case 'emit': case 'call': {
          const event = restWords[0];
          if (!event) return print.status('error', `usage: ${verb} <event> [args]`, { message: `usage: ${verb} <event> [args]` });
          const args = parseArgsText(afterVerb.slice(event.length));
          if (verb === 'call') return withAck(event, args);
          socket.emit(event, ...args);
          lastEmitAt = Date.now();
          print.status('sent', `> ${event}${args.length ? ` ${args.map((a) => show(a, false)).join(' ')}` : ''}`, { event, args });
          return;
        }
        default:
          print.status('error', `unknown command "${verb}" (type help)`, { message: `unknown command "${verb}"` });
      }
    }

    function withAck(event: string, args: unknown[]): Promise<void> {
      return new Promise((done) => {
        socket.timeout(opts.ackTimeout).emit(event, ...args, (err: Error | null, ...response: unknown[]) => {
          if (err) {
            ackTimedOut = true;
            print.status('ack_timeout', `no ack for ${event} within ${opts.ackTimeout} ms`, { event, message: err.message });
          }
          else print.data('ack', `ack ${event}${response.length ? ` ${response.map((a) => show(a, false)).join(' ')}` : ''}`, { event, args: response });
          done();
        });
      });
    }
  });
}

async function runRaw(opts: ConnectOptions): Promise<number> {
  const print = new Printer(opts);
  if (!/^wss?:\/\//i.test(opts.url)) throw new UsageError(`--raw needs a ws:// or wss:// URL (got "${opts.url}")`, 'connect');
  try {
    new URL(opts.url);
  } catch {
    throw new UsageError(`invalid URL "${opts.url}"`, 'connect');
  }
  const ws = new WebSocket(opts.url, opts.protocol ?? []);
  ws.binaryType = 'nodebuffer';
  return new Promise<number>((resolve) => {
    let input: ReturnType<typeof lineLoop> | undefined;
    let opened = false;
    let closedByUs = false;
    ws.on('open', () => {
      opened = true;
      print.status('open', `connected to ${opts.url}${ws.protocol ? ` (protocol ${ws.protocol})` : ''}`, { url: opts.url, protocol: ws.protocol });
      input = lineLoop(opts, print, async (line) => send(line));
      void input.done.then(() => { if (ws.readyState === WebSocket.OPEN) { closedByUs = true; ws.close(1000); } });
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) print.data('binary', `< binary ${data.length} bytes: ${data.toString('hex')}`, { base64: data.toString('base64') });
      else print.data('text', data.toString('utf8'), { data: data.toString('utf8') });
    });
    ws.on('pong', (data: Buffer) => print.status('pong', `< pong ${data.toString('utf8')}`, { data: data.toString('utf8') }));
    ws.on('error', (err: Error) => print.status('error', `error: ${err.message} (${opts.url})${modeHint(true, err.message)}`, { message: err.message, url: opts.url }));
    ws.on('close', (code: number, reason: Buffer) => {
      input?.stop();
      const text = reason.toString('utf8');
      const meaning = CLOSE_CODE_NAMES[code] ?? (code >= 4000 ? 'application-defined' : code >= 3000 ? 'registered for libraries' : 'unknown code');
      print.status('close', `closed: ${code}${text ? ` ${text}` : ''} (${meaning}${closedByUs ? ', closed by us' : ''})`, { code, reason: text, meaning, by: closedByUs ? 'client' : 'server' });
      resolve(opened && (closedByUs || code === 1000 || code === 1001 || code === 1005) ? EXIT.OK : EXIT.CONNECTION);
    });

    function send(line: string): boolean | void {
      if (ws.readyState !== WebSocket.OPEN) return false;
      if (line.startsWith('//')) return void ws.send(line.slice(1));
      if (line.startsWith('/')) {
        const [cmd = '', ...rest] = line.slice(1).split(' ');
        switch (cmd) {
          case 'binary': {
            const hex = rest.join('').replace(/\s+/g, '');
            if (!/^([0-9a-fA-F]{2})*$/.test(hex)) return print.status('error', 'usage: /binary <hex bytes>', { message: 'bad hex' });
            return void ws.send(Buffer.from(hex, 'hex'), { binary: true });
          }
          case 'ping': return void ws.ping(rest.join(' '));
          case 'close': {
            const code = rest[0] ? Number(rest[0]) : 1000;
            if (!Number.isInteger(code) || !(code === 1000 || (code >= 3000 && code <= 4999))) {
              return print.status('error', 'usage: /close [1000|3000-4999 [reason]]', { message: 'bad close code' });
            }
            closedByUs = true;
            ws.close(code, rest.slice(1).join(' '));
            return false;
          }
          case 'help': return print.status('help', RAW_HELP, { text: RAW_HELP });
          default: return print.status('error', `unknown command /${cmd} (type /help; send "//..." for text starting with /)`, { message: `unknown command /${cmd}` });
        }
      }
      ws.send(opts.binary ? Buffer.from(line, 'utf8') : line, { binary: opts.binary });
    }
  });
}
