// The `switchboard` command: `serve`, `connect`, `help`. The bin shim calls `run()`.
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { formatOptions, parseArgs, UsageError, type OptionSpecs } from './args.js';
import { COMMANDS_HELP, EXIT_HELP, RAW_HELP, runConnect } from './connect.js';
import { DEFAULT_REDIS_URL, HubError, type AdapterKind } from './hub.js';
import { Logger } from './log.js';
import { isHubWorker, parseWorkers, startServing } from './workers.js';
import { VERSION } from '../version.js';

/** Where the process's I/O goes; tests substitute streams and environment. */
export interface RunContext {
  /** Directory with the demo pages (the bin shim passes dist/esm/cli/public). */
  publicDir: string;
  env?: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
}

const SERVE_OPTIONS = {
  port: { type: 'port', short: 'p', description: 'TCP port (0 = any free port)', defaultText: '3000', env: 'PORT' },
  host: { type: 'string', description: 'interface to listen on; 0.0.0.0 exposes the hub to the network', valueName: 'HOST', defaultText: '127.0.0.1', env: 'HOST' },
  path: { type: 'string', description: 'Socket.IO endpoint path', valueName: 'PATH', default: '/socket.io' },
  'cors-origin': { type: 'string', multiple: true, description: 'browser origin allowed to connect, e.g. https://app.example.com ("*" = any)', valueName: 'ORIGIN', defaultText: 'none, only the hub\'s own pages' },
  adapter: { type: 'string', choices: ['memory', 'redis', 'redis-streams', 'cluster'], description: 'how hubs share broadcasts (cluster: the processes of --workers, over IPC; their default)', valueName: 'KIND', defaultText: 'memory, or redis with --redis' },
  redis: { type: 'string', description: 'Redis URL for the redis adapters (implies --adapter redis)', valueName: 'URL', defaultText: `${DEFAULT_REDIS_URL} with a redis adapter` },
  'tls-cert': { type: 'string', description: 'PEM certificate (chain) file: serve https:// and wss:// (needs --tls-key)', valueName: 'FILE', defaultText: 'none, plain http://' },
  'tls-key': { type: 'string', description: 'PEM private key file for --tls-cert', valueName: 'FILE' },
  'trust-proxy': { type: 'string', description: 'proxies whose X-Forwarded-For is believed for client addresses: true, a hop count, or addresses/CIDRs (loopback, uniquelocal)', valueName: 'WHICH', defaultText: 'off' },
  'dashboard-token': { type: 'string', description: 'token for /dashboard', valueName: 'TOKEN', defaultText: 'random at each start', env: 'SWITCHBOARD_DASHBOARD_TOKEN' },
  'dashboard-token-file': { type: 'string', description: 'keep the dashboard token in this file across restarts: read if it exists, else a new one is written (mode 600)', valueName: 'PATH' },
  workers: { type: 'string', description: 'run the hub in N processes sharing the port ("auto": one per core); a worker that dies is replaced', valueName: 'N|auto', defaultText: '1, this process' },
  quiet: { type: 'boolean', short: 'q', description: 'log only warnings and errors (still prints the URL)' },
  json: { type: 'boolean', description: 'log one JSON object per line' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

const CONNECT_OPTIONS = {
  namespace: { type: 'string', short: 'n', description: 'namespace to join', valueName: 'NSP', default: '/' },
  auth: { type: 'string', description: 'JSON object sent as the handshake auth', valueName: 'JSON' },
  transport: { type: 'string', short: 't', choices: ['polling', 'websocket'], description: 'use only this transport (default: polling, then upgrade)', valueName: 'NAME' },
  path: { type: 'string', description: 'Socket.IO endpoint path', valueName: 'PATH', default: '/socket.io' },
  'ack-timeout': { type: 'number', min: 1, max: 3_600_000, description: 'how long call/join/leave wait for an ack, in ms', valueName: 'MS', default: 5000 },
  raw: { type: 'boolean', description: 'plain WebSocket (ws:// URL): lines are text frames' },
  binary: { type: 'boolean', description: 'with --raw: send lines as binary frames' },
  protocol: { type: 'string', multiple: true, description: 'with --raw: WebSocket subprotocol to offer', valueName: 'NAME' },
  json: { type: 'boolean', description: 'print one JSON object per line' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
} as const satisfies OptionSpecs;

const MAIN_HELP = `switchboard ${VERSION} — real-time events over WebSocket and Socket.IO

Usage:
  switchboard serve [options]           run a hub: demo chat at /, live dashboard at /dashboard
  switchboard connect <url> [options]   interactive client (Socket.IO, or --raw WebSocket)
  switchboard help <command>            help for a command
  switchboard --version

Examples:
  switchboard serve --port 8080
  switchboard serve --workers auto
  switchboard serve --adapter redis --redis redis://127.0.0.1:6379
  switchboard connect http://localhost:3000 --namespace /chat --auth '{"nickname":"ada"}'
  switchboard connect ws://localhost:8080/echo --raw
`;

const SERVE_HELP = `Usage: switchboard serve [options]

Starts a hub. The demo chat is at http://localhost:3000/ and the live dashboard at /dashboard
(its token is printed at start). Stop with Ctrl-C (SIGINT) or SIGTERM: clients get a proper close.

Options:
${formatOptions(SERVE_OPTIONS)}
`;

const CONNECT_HELP = `Usage: switchboard connect <url> [options]

Connects to a Socket.IO server (http://, https://, ws://, wss://) and reads commands from stdin.
With --raw, connects to any WebSocket server (ws://, wss://) and sends each line as a frame.

Options:
${formatOptions(CONNECT_OPTIONS)}

${COMMANDS_HELP}

${RAW_HELP}

${EXIT_HELP}
`;

/**
 * Runs the CLI; resolves to the exit status (the process exits with it).
 *
 * @example
 * process.exitCode = await run(process.argv.slice(2), { publicDir });
 */
export async function run(argv: readonly string[], ctx: RunContext): Promise<number> {
  const stdout = ctx.stdout ?? process.stdout;
  const stderr = ctx.stderr ?? process.stderr;
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined: case '--help': case '-h':
        stdout.write(MAIN_HELP);
        return 0;
      case 'help':
        stdout.write(rest[0] === 'serve' ? SERVE_HELP : rest[0] === 'connect' ? CONNECT_HELP : MAIN_HELP);
        return 0;
      case '--version': case '-v': case 'version':
        stdout.write(`${VERSION}\n`);
        return 0;
      case 'serve':
        return await serve(rest, ctx, stdout, stderr);
      case 'connect':
        return await connect(rest, ctx, stdout, stderr);
      default:
        throw new UsageError(`unknown command "${command.slice(0, 40)}"; try serve or connect`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      stderr.write(`switchboard: ${err.message}\nRun "switchboard ${err.command ? `${err.command} ` : ''}--help" for usage.\n`);
      return 2;
    }
    if (err instanceof HubError) {
      stderr.write(`switchboard: ${err.message}\n`);
      return 1;
    }
    stderr.write(`switchboard: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    return 1;
  }
}

async function serve(argv: string[], ctx: RunContext, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  const { options, positionals } = parseArgs(SERVE_OPTIONS, argv, 'serve');
  if (options.help) { stdout.write(SERVE_HELP); return 0; }
  if (positionals.length) throw new UsageError(`serve takes no arguments (got "${positionals[0]}")`, 'serve');
  if (options.quiet && options.json) throw new UsageError('choose one of --quiet and --json', 'serve');
  const workers = parseWorkers(options.workers);
  const adapter: AdapterKind = (options.adapter as AdapterKind | undefined) ?? (options.redis ? 'redis' : (workers ?? 1) > 1 ? 'cluster' : 'memory');
  if (adapter === 'memory' && (workers ?? 1) > 1) throw new UsageError('--adapter memory keeps each worker to itself: use cluster (the default with --workers) or a redis adapter', 'serve');
  if (options.redis && adapter === 'memory') throw new UsageError('--redis needs --adapter redis or redis-streams', 'serve');
  if (options.redis && !/^rediss?:\/\//.test(options.redis)) throw new UsageError(`--redis must be a redis:// or rediss:// URL (got "${options.redis}")`, 'serve');
  const env = ctx.env ?? process.env;
  const port = options.port ?? portFromEnv(env.PORT) ?? 3000;
  const host = options.host ?? (env.HOST || '127.0.0.1');
  const tls = readTls(options['tls-cert'], options['tls-key']);
  const tokenFile = options['dashboard-token-file'];
  const givenToken = options['dashboard-token'] ?? env.SWITCHBOARD_DASHBOARD_TOKEN;
  if (tokenFile !== undefined && givenToken) throw new UsageError('choose one of --dashboard-token (or SWITCHBOARD_DASHBOARD_TOKEN) and --dashboard-token-file', 'serve');
  const logger = new Logger(options.json ? 'json' : options.quiet ? 'quiet' : 'text', stdout, stderr);
  const redisUrl = adapter === 'redis' || adapter === 'redis-streams' ? options.redis ?? DEFAULT_REDIS_URL : undefined;
  if (redisUrl !== undefined && options.redis === undefined) {
    logger.notice('redis-url', { url: redisUrl }, `--adapter ${adapter} without --redis: using ${redisUrl}`);
  }

  const hub = await startServing({
    port,
    host,
    path: options.path,
    corsOrigins: options['cors-origin'] ?? [],
    adapter,
    redisUrl,
    dashboardToken: tokenFile === undefined ? givenToken : dashboardTokenFromFile(tokenFile, logger),
    trustProxy: parseTrustProxy(options['trust-proxy']),
    ...(tls ? { tls } : {}),
    publicDir: ctx.publicDir,
    logger,
  }, workers);
  // Graceful stop: the first signal closes every client properly; a second one forces the exit.
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) { logger.warn('forced-exit', { signal }); process.exit(130); }
      stopping = true;
      logger.info('shutdown', { signal, clients: hub.io?.engine?.clientsCount ?? 0 });
      const force = setTimeout(() => { logger.warn('shutdown-timeout'); process.exit(1); }, 10_000);
      force.unref();
      hub.close().then(() => {
        clearTimeout(force);
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        logger.info('stopped');
        resolve(0);
      }, (err: unknown) => {
        logger.error('shutdown-failed', { error: err instanceof Error ? err.message : String(err) });
        resolve(1);
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    // A stray rejection (e.g. from a remote adapter while Redis restarts) is logged; it must not kill the hub.
    process.on('unhandledRejection', (err: unknown) => logger.error('unhandled-rejection', { error: err instanceof Error ? err.message : String(err) }));
    if (isHubWorker()) return; // the primary announces the hub
    // Announce only once the signal handlers are in place, so whoever reads this line may stop us.
    const dashboard = `${hub.url}/dashboard#token=${hub.dashboardToken}`;
    logger.notice('listening', { url: hub.url, port: hub.port, host, path: options.path, adapter, dashboard, token: hub.dashboardToken },
      `switchboard ${VERSION} hub listening on ${hub.url} (adapter: ${adapter}, path: ${options.path})\n` +
      `  chat:      ${hub.url}/\n` +
      `  dashboard: ${dashboard}`);
  });
}

/** The PORT environment variable, if set: a port number like --port takes. */
function portFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value.trim()) || port > 65535) throw new UsageError(`PORT must be a port number from 0 to 65535 (got "${value.slice(0, 40)}")`, 'serve');
  return port;
}

/** The certificate and key for https:// and wss://, read at start so a wrong path fails at once. */
function readTls(certPath: string | undefined, keyPath: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) throw new UsageError('--tls-cert and --tls-key go together', 'serve');
  const read = (flag: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`cannot read ${flag} "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'serve');
    }
  };
  return { cert: read('--tls-cert', certPath), key: read('--tls-key', keyPath) };
}

/**
 * The dashboard token kept in `path`, so links stay valid across restarts: read when the file
 * exists, else a new random token is written there, readable by this user only.
 */
function dashboardTokenFromFile(path: string, logger: Logger): string {
  try {
    const token = readFileSync(path, 'utf8').trim();
    if (token) return token;
    throw new UsageError(`--dashboard-token-file "${path}" is empty; delete it to have a new token written`, 'serve');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      if (err instanceof UsageError) throw err;
      throw new UsageError(`cannot read --dashboard-token-file "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'serve');
    }
  }
  const token = randomBytes(18).toString('base64url');
  try {
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    throw new UsageError(`cannot write --dashboard-token-file "${path}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'serve');
  }
  logger.notice('dashboard-token-created', { path }, `new dashboard token written to ${path}`);
  return token;
}

/** `--trust-proxy` as Express users write it: true/false, a hop count, or a list of addresses and ranges. */
export function parseTrustProxy(value: string | undefined): boolean | number | string[] | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (text === 'true' || text === 'false') return text === 'true';
  if (/^\d+$/.test(text)) return Number(text);
  const list = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const entry of list) {
    const [ip, prefix, extra] = entry.split('/');
    const named = ['loopback', 'linklocal', 'uniquelocal'].includes(entry);
    const family = isIP(ip!);
    const bits = prefix === undefined ? 0 : /^\d{1,3}$/.test(prefix) ? Number(prefix) : Infinity;
    if (!named && (extra !== undefined || family === 0 || bits > (family === 6 ? 128 : 32))) {
      throw new UsageError(`--trust-proxy takes true, false, a hop count, or addresses/CIDR ranges (got "${entry.slice(0, 60)}")`, 'serve');
    }
  }
  if (list.length === 0) throw new UsageError('--trust-proxy needs a value', 'serve');
  return list;
}

async function connect(argv: string[], ctx: RunContext, stdout: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<number> {
  const { options, positionals } = parseArgs(CONNECT_OPTIONS, argv, 'connect');
  if (options.help) { stdout.write(CONNECT_HELP); return 0; }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'connect takes one URL' : 'connect needs a URL, e.g. http://localhost:3000', 'connect');
  if ((options.binary || options.protocol) && !options.raw) throw new UsageError('--binary and --protocol need --raw', 'connect');
  const stdin = ctx.stdin ?? process.stdin;
  return runConnect({
    url: positionals[0]!,
    namespace: options.namespace,
    auth: options.auth,
    transport: options.transport as 'polling' | 'websocket' | undefined,
    path: options.path,
    raw: options.raw ?? false,
    binary: options.binary ?? false,
    protocol: options.protocol,
    json: options.json ?? false,
    ackTimeout: options['ack-timeout'],
    input: stdin,
    output: stdout,
    errors: stderr,
    interactive: (stdin as { isTTY?: boolean }).isTTY === true && (stdout as { isTTY?: boolean }).isTTY === true,
  });
}
