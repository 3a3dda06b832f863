import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { formatOptions, parseArgs, UsageError, type OptionSpecs } from '../../src/cli/args.js';
import { parseArgsText } from '../../src/cli/connect.js';
import { validNickname, validRoom, validText, ChatHistory } from '../../src/cli/chat.js';

const SPEC = {
  port: { type: 'port', short: 'p', description: 'port', default: 3000 },
  host: { type: 'string', description: 'host' },
  adapter: { type: 'string', choices: ['memory', 'redis'], description: 'adapter' },
  origin: { type: 'string', multiple: true, description: 'origins' },
  timeout: { type: 'number', min: 1, max: 100, description: 'timeout' },
  quiet: { type: 'boolean', short: 'q', description: 'quiet' },
} as const satisfies OptionSpecs;

test('parses long, short, inline and repeated options with defaults', () => {
  const { options, positionals } = parseArgs(SPEC, ['-p', '8080', '--host=0.0.0.0', 'url', '--origin', 'a,b', '--origin=c', '-q', '--timeout', '5', '--', '--port']);
  assert.equal(options.port, 8080);
  assert.equal(options.host, '0.0.0.0');
  assert.deepEqual(options.origin, ['a', 'b', 'c']);
  assert.equal(options.quiet, true);
  assert.equal(options.timeout, 5);
  assert.equal(options.adapter, undefined);
  assert.deepEqual(positionals, ['url', '--port']);
  assert.equal(parseArgs(SPEC, []).options.port, 3000);
  assert.equal(parseArgs(SPEC, ['-p0']).options.port, 0);
});

test('rejects bad input with a UsageError that says what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [['--prot', '1'], /unknown option --prot \(did you mean --port\?\)/],
    [['-x'], /unknown option -x/],
    [['--port'], /--port needs a value/],
    [['--port', '--quiet'], /--port needs a value/],
    [['--port', '70000'], /port number 0-65535/],
    [['--port', '1.5'], /port number/],
    [['--port', ''], /port number/],
    [['--adapter', 'mongo'], /one of memory, redis/],
    [['--timeout', '0'], /at least 1/],
    [['--timeout', '101'], /at most 100/],
    [['--timeout', 'soon'], /must be a number/],
    [['--quiet=yes'], /takes no value/],
    [['--__proto__', 'x'], /unknown option/],
    [['--constructor'], /unknown option/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseArgs(SPEC, argv, 'serve'), (err: unknown) => err instanceof UsageError && message.test(err.message) && err.command === 'serve', argv.join(' '));
  }
});

test('random argv never throws anything but UsageError', () => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom('--port', '-p', '--origin', '--quiet', '--', '-', '--adapter', '--x=1', '-q1'))), (argv) => {
    try {
      const { options } = parseArgs(SPEC, argv);
      assert.ok(options.port === undefined || (Number.isInteger(options.port) && options.port >= 0 && options.port <= 65535));
    } catch (err) {
      assert.ok(err instanceof UsageError, String(err));
    }
  }), { numRuns: 2000 });
});

test('help lists every option', () => {
  const text = formatOptions(SPEC);
  for (const name of Object.keys(SPEC)) assert.match(text, new RegExp(`--${name}`));
  assert.match(text, /default: 3000/);
});

test('connect argument text: comma-separated JSON values, else one string, never prototype keys', () => {
  assert.deepEqual(parseArgsText(''), []);
  assert.deepEqual(parseArgsText(' 1, "two", {"x":3}'), [1, 'two', { x: 3 }]);
  assert.deepEqual(parseArgsText('hello world'), ['hello world']);
  assert.deepEqual(parseArgsText('[1,2]'), [[1, 2]]);
  const [polluted] = parseArgsText('{"__proto__":{"evil":1},"a":1}') as [Record<string, unknown>];
  assert.equal(Object.getPrototypeOf(polluted), Object.prototype);
  assert.equal(({} as Record<string, unknown>).evil, undefined);
  fc.assert(fc.property(fc.string(), (s) => { assert.ok(Array.isArray(parseArgsText(s))); }), { numRuns: 1000 });
});

test('chat validators accept what they should and never throw', () => {
  assert.equal(validNickname('  Ada   Lovelace '), 'Ada Lovelace');
  assert.equal(validNickname('Zoë'), 'Zoë');
  for (const bad of ['', ' ', '<script>', 'a'.repeat(25), '-dash', 42, null, {}, 'a\u0000b']) assert.equal(validNickname(bad), undefined, String(bad));
  assert.equal(validRoom('lobby'), 'lobby');
  for (const bad of ['', 'a b', 'x'.repeat(33), '../etc', 'room:x', 7]) assert.equal(validRoom(bad), undefined, String(bad));
  assert.equal(validText(' hi\u0007 ', 10), 'hi');
  assert.equal(validText('x'.repeat(11), 10), undefined);
  assert.equal(validText('   ', 10), undefined);
  fc.assert(fc.property(fc.anything(), (v) => { validNickname(v); validRoom(v); validText(v, 100); }), { numRuns: 1000 });
});

test('chat history is bounded per room and in rooms', () => {
  const history = new ChatHistory(3, 2);
  for (let i = 0; i < 5; i++) history.add({ id: `a${i}`, room: 'a', nickname: 'n', text: String(i), ts: i });
  assert.deepEqual(history.of('a').map((m) => m.text), ['2', '3', '4']);
  history.add({ id: 'b', room: 'b', nickname: 'n', text: 'b', ts: 0 });
  history.add({ id: 'a5', room: 'a', nickname: 'n', text: '5', ts: 0 }); // a becomes most recent
  history.add({ id: 'c', room: 'c', nickname: 'n', text: 'c', ts: 0 }); // evicts b, the least recently active
  assert.deepEqual(history.of('b'), []);
  assert.equal(history.of('a').length, 3);
  assert.equal(history.of('c').length, 1);
});
