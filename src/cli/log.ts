/** How the hub reports: human lines, one JSON object per line, or only warnings and errors. */
export type LogMode = 'text' | 'json' | 'quiet';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

/**
 * A tiny structured logger. `info` lines are proof of life (connections, startup) and are muted by
 * `quiet`; `warn`/`error` always print (to stderr in text mode).
 *
 * @example
 * const log = new Logger('json', process.stdout, process.stderr);
 * log.info('connect', { id: 'abc', nsp: '/chat' }); // {"time":"...","level":"info","event":"connect","id":"abc","nsp":"/chat"}
 */
export class Logger {
  constructor(
    readonly mode: LogMode,
    private readonly out: NodeJS.WritableStream = process.stdout,
    private readonly err: NodeJS.WritableStream = process.stderr,
  ) {}

  info(event: string, fields: LogFields = {}): void {
    if (this.mode !== 'quiet') this.write('info', event, fields);
  }

  /** Startup lines a user needs (URL, dashboard token): printed even when quiet. */
  notice(event: string, fields: LogFields = {}, text?: string): void {
    if (this.mode === 'json') this.write('info', event, fields);
    else this.out.write(`${text ?? format(event, fields)}\n`);
  }

  warn(event: string, fields: LogFields = {}): void { this.write('warn', event, fields); }
  error(event: string, fields: LogFields = {}): void { this.write('error', event, fields); }

  private write(level: 'info' | 'warn' | 'error', event: string, fields: LogFields): void {
    if (this.mode === 'json') {
      this.out.write(`${JSON.stringify({ time: new Date().toISOString(), level, event, ...fields })}\n`);
      return;
    }
    const time = new Date().toISOString().slice(11, 23);
    const line = `${time} ${level === 'info' ? '' : `${level.toUpperCase()} `}${format(event, fields)}\n`;
    (level === 'info' ? this.out : this.err).write(line);
  }
}

function format(event: string, fields: LogFields): string {
  let line = event;
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = String(value);
    line += ` ${key}=${/[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text}`;
  }
  return line;
}
