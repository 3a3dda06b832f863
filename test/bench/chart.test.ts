// bench/lib/chart.mjs draws bench/results/ratios.svg from the committed results: it must give a
// well-formed SVG with one bar per case and peer. Runs the script as `npm run bench` does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../bench/lib/chart.mjs', import.meta.url));
const results = fileURLToPath(new URL('../../bench/results/', import.meta.url));

interface SuiteRow { name: string; by: Record<string, { error?: string; rate?: number }> }
interface SuiteResults { impls: { ours: string; ceiling?: string }; results: SuiteRow[] }

function drawChart(resultsDir: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sb-chart-'));
  try {
    const out = join(dir, 'ratios.svg');
    execFileSync(process.execPath, [script, '--results', resultsDir, '--out', out], { stdio: 'pipe' });
    return readFileSync(out, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Checks the nesting of every tag (an XML parser's first job) and returns the root's name. */
function assertWellFormed(svg: string): string {
  const stack: string[] = [];
  const roots: string[] = [];
  const body = svg.replace(/<!--[\s\S]*?-->/g, '').replace(/<\?xml[^>]*\?>/, '');
  let last = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/g)) {
    if (stack.length === 0) assert.equal(body.slice(last, m.index).trim(), '', 'text outside the root element');
    assert.doesNotMatch(body.slice(last, m.index), /[<>]/, `stray markup before ${m[0]}`);
    assert.doesNotMatch(body.slice(last, m.index), /&(?!(amp|lt|gt|quot|apos|#\d+);)/, 'unescaped &');
    last = m.index + m[0].length;
    const [, closing, name, , selfClosing] = m;
    if (closing) {
      assert.equal(stack.pop(), name, `</${name}> closes something else`);
    } else {
      if (stack.length === 0) roots.push(name);
      if (!selfClosing) stack.push(name);
    }
  }
  assert.equal(body.slice(last).trim(), '', 'text after the root element');
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.equal(roots.length, 1, `one root element, got ${roots.join(', ')}`);
  return roots[0];
}

const bars = (svg: string) => [...svg.matchAll(/<rect class="bar" data-case="([^"]*)" data-peer="([^"]*)"/g)].map((m) => ({ label: m[1], peer: m[2] }));
const plain = (label: string) => label.replaceAll(',', '');

test('the chart of the committed results is one well-formed <svg> with a bar per case and peer', () => {
  const svg = drawChart(results);
  assert.equal(assertWellFormed(svg), 'svg');
  const drawn = bars(svg);

  // The WebSocket and Socket.IO suites (Node and, where run, C load generator): a bar for every row and every peer in it.
  for (const file of ['ws.json', 'ws-c.json', 'socketio.json', 'socketio-c.json'].filter((f) => existsSync(join(results, f)))) {
    const data = JSON.parse(readFileSync(join(results, file), 'utf8')) as SuiteResults;
    for (const row of data.results) {
      for (const impl of Object.keys(row.by).filter((i) => i !== data.impls.ours && i !== data.impls.ceiling)) {
        assert.ok(drawn.some((b) => plain(b.label).startsWith(row.name) && b.peer === impl), `${file}: no bar for ${row.name} vs ${impl}`);
      }
    }
  }
  const hostile = JSON.parse(readFileSync(join(results, 'hostile-cost.json'), 'utf8')) as { results: { name: string; peer: string }[] };
  for (const row of hostile.results) {
    assert.ok(drawn.some((b) => b.label === row.name && b.peer === row.peer), `hostile-cost.json: no bar for ${row.name}`);
  }
  const storm = JSON.parse(readFileSync(join(results, 'reconnect-storm.json'), 'utf8')) as { rows: { clients: number }[] };
  for (const clients of new Set(storm.rows.map((r) => r.clients))) {
    assert.ok(drawn.some((b) => plain(b.label) === `${clients} clients`), `reconnect-storm.json: no bar for ${clients} clients`);
  }
  assert.ok(drawn.some((b) => b.label === 'pub/sub adapters'), 'redis-broadcast.json: no bar');
  // The 1.0 line.
  assert.match(svg, /<line class="one"/);
});

test('a peer added to a suite (uWebSockets.js) gets bars of its own; a row where ours failed gets none', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-results-'));
  try {
    for (const file of readdirSync(results).filter((f) => f.endsWith('.json') && !f.endsWith('.partial.json'))) {
      copyFileSync(join(results, file), join(dir, file));
    }
    // Both WebSocket suites (Node and C load generators) have the same case names: the row fails in both.
    const suites = ['ws.json', 'ws-c.json'].filter((f) => existsSync(join(dir, f)));
    const [first, second] = (JSON.parse(readFileSync(join(dir, 'ws.json'), 'utf8')) as SuiteResults).results;
    for (const file of suites) {
      const ws = JSON.parse(readFileSync(join(dir, file), 'utf8')) as SuiteResults;
      if (file === 'ws.json') ws.results[0].by['uws'] = { rate: 1000 };
      const row = ws.results.find((r) => r.name === second.name);
      if (row) row.by[ws.impls.ours] = { error: 'timed out' };
      writeFileSync(join(dir, file), JSON.stringify(ws));
    }

    const svg = drawChart(dir);
    const drawn = bars(svg);
    assert.ok(drawn.some((b) => b.label === first.name && b.peer === 'uws'));
    assert.match(svg, />vs uWS\.js</, 'the label names uWebSockets.js as users know it');
    assert.ok(!drawn.some((b) => b.label === second.name), `${second.name}: ours failed, yet a bar is drawn`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
