// The API reference: TypeDoc over every entry point, warnings as errors (tools/api-docs/typedoc.json),
// so an export without a doc comment, a broken {@link} or an internal type leaking into a public
// signature fails here. Built into a temporary folder; `npm run docs` builds docs/api.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'switchboard-api-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('TypeDoc documents every entry point without a warning', () => {
  const result = spawnSync(process.execPath, [join(root, 'tools/api-docs/build.mjs'), '--out', out], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(result.status, 0, `TypeDoc failed (warnings are errors):\n${result.stdout}${result.stderr}`);
  // One page per entry point: switchboard (server), switchboard/client, ...
  for (const page of ['server', 'client', 'websocket', 'engine', 'adapters_redis', 'adapters_cluster']) {
    assert.ok(existsSync(join(out, `modules/${page}.html`)), `the reference has a page for ${page}`);
  }
  assert.ok(existsSync(join(out, 'classes/server.Server.html')), 'the Server class has its page');
});
