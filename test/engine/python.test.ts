// python-engineio (Debian's python3-engineio 4.3, sync client) against `switchboard/engine` alone,
// mounted at /engine.io/: text and binary both ways over polling, websocket and the upgrade. Its
// polling POST bodies are Latin-1 (see bodyText in src/engine/transports.ts), so non-ASCII text
// over polling checks that path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startEngine, until } from './helpers.js';
import { pythonSkip, runPython } from '../shared/python.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/python_engineio_client.py', import.meta.url));
const skip = pythonSkip('engineio, websocket, requests');

for (const mode of ['polling', 'websocket', 'upgrade'] as const) {
  test(`python-engineio client over ${mode}: text and binary both ways`, { skip }, async (t) => {
    const h = await startEngine(t);
    const text = mode === 'websocket' ? 'héllo ✓' : 'héllo';
    const got: Array<string | Buffer> = [];
    const closes: string[] = [];
    const transports: string[] = [];
    h.engine.on('connection', (session) => {
      transports.push(session.transport.name);
      session.on('upgrade', () => transports.push(session.transport.name));
      session.on('message', (data: string | Buffer) => {
        got.push(data);
        session.send(typeof data === 'string' ? `echo:${data}` : Buffer.concat([Buffer.from([0xaa]), data]));
      });
      session.on('close', (reason: string) => closes.push(reason));
    });

    const steps = await runPython(SCRIPT, [h.origin, mode]);

    assert.match(steps.open.sid, /^[\w-]{20,}$/);
    // This client finishes its upgrade inside connect(), before it reports.
    assert.equal(steps.open.transport, mode === 'polling' ? 'polling' : 'websocket');
    assert.deepEqual(transports, { polling: ['polling'], websocket: ['websocket'], upgrade: ['polling', 'websocket'] }[mode]);
    assert.deepEqual(steps.received.items, [`echo:${text}`, { hex: 'aa0001feff' }]);
    assert.ok(steps.done);
    assert.equal(got[0], text);
    assert.deepEqual([...(got[1] as Buffer)], [0, 1, 0xfe, 0xff]);
    // The client may exit before its close packet leaves over polling (see test/server/python.test.ts).
    await until(() => closes.length === 1, 5000, 'session closed');
    assert.match(closes[0]!, mode === 'polling' ? /^(transport close|ping timeout)$/ : /^transport close$/);
  });
}
