// Draws bench/results/ratios.svg from bench/results/*.json: one horizontal bar per case and peer,
// on a log scale around a line at 1.0. Every bar reads "higher is better for switchboard":
// rates are ours / peer; memory, time and ms/MiB (where less is better) are peer / ours.
// No dependencies, so it runs anywhere the results are.
// Usage: node bench/lib/chart.mjs [--results dir] [--out file.svg]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OURS = 'switchboard';
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));

// Peers get a fixed colour each; a peer not listed here (a new one) gets the grey.
const PEER_COLOURS = { ws: '#2f6db3', 'socket.io': '#d9822b', 'engine.io': '#8a5fbf', 'uWS.js': '#2b9a66' };
const OTHER_COLOUR = '#777777';
// Implementation ids in the results (--impl of the servers) → the names users know.
const PEER_NAMES = { uws: 'uWS.js' };
const peerFamily = (impl) => (impl.startsWith('socket.io') ? 'socket.io' : PEER_NAMES[impl] ?? impl);

const fmtCount = (n) => Number(n).toLocaleString('en-US');

/** A bar: { group, label, peer, ratio, atLeast? } (atLeast: ours timed out, ratio is a bound). */
function suiteBars(file, data) {
  // The WebSocket and Socket.IO suites (bench/lib/suite.mjs), and any suite in that format: every
  // implementation in a row other than ours and the `net` ceiling is a peer.
  const bars = [];
  const skip = new Set([data.impls.ours ?? OURS, data.impls.ceiling].filter(Boolean));
  for (const row of data.results) {
    const ours = row.by[data.impls.ours ?? OURS];
    if (!ours || ours.error) continue;
    const label = row.name.replace(/\b(\d{4,})\b/g, (n) => fmtCount(n));
    for (const [impl, peer] of Object.entries(row.by)) {
      if (skip.has(impl) || !peer || peer.error) continue;
      const ratio = row.kind === 'memory' ? peer.heapPerConn / ours.heapPerConn : ours.rate / peer.rate;
      bars.push({ group: data.title ?? file, label: row.kind === 'memory' ? `${label} (heap per connection)` : label, peer: impl, ratio });
    }
  }
  return bars;
}

function hostileBars(data) {
  // ms per MiB at the largest size, where a path that is not linear shows most.
  const largest = Math.max(...data.sizes);
  const bars = [];
  for (const row of data.results) {
    const peer = row.by[row.peer]?.[largest];
    const ours = row.by[OURS]?.[largest];
    if (!peer || !ours || peer.ms === null || peer.error || ours.error) continue;
    const perMiB = (cell) => (cell.timedOut ? data.timeoutMs : cell.ms) / (cell.bytes / 2 ** 20);
    if (ours.ms === null && !ours.timedOut) continue;
    // A timed-out run of ours took at least the timeout: the ratio is then an upper bound.
    bars.push({ group: `Hostile input: ms per MiB at ${largest / 2 ** 20} MiB`, label: row.name, peer: row.peer, ratio: perMiB(peer) / perMiB(ours), atMost: ours.timedOut });
  }
  return bars;
}

function stormBars(data) {
  const bars = [];
  const done = (r) => r && !r.error && Number.isFinite(r.allBackMs);
  for (const ours of data.rows.filter((r) => r.impl === OURS && done(r))) {
    for (const peer of data.rows.filter((r) => r.impl !== OURS && r.clients === ours.clients && done(r))) {
      bars.push({ group: 'Reconnect storm: time until every client is back', label: `${fmtCount(ours.clients)} clients`, peer: peer.impl, ratio: peer.allBackMs / ours.allBackMs });
    }
  }
  return bars;
}

function soakBars(data) {
  const ours = data.results.find((r) => r.impl === OURS);
  if (!ours) return [];
  return data.results.filter((r) => r.impl !== OURS).map((peer) => ({
    group: 'Retry memory soak: server heap at the end',
    label: `${fmtCount(data.clients)} clients, ${data.minutes} min`,
    peer: peer.impl,
    ratio: peer.heapMiB.at(-1) / ours.heapMiB.at(-1),
  }));
}

function redisBars(data) {
  // Results come in pairs, peer then ours: socket.io / switchboard, then the streams adapters.
  const bars = [];
  for (const ours of data.results.filter((r) => r.impl.startsWith(OURS))) {
    const suffix = ours.impl.slice(OURS.length);
    const peer = data.results.find((r) => r.impl === 'socket.io' + suffix);
    if (!peer) continue;
    const adapters = suffix === '-streams' ? 'streams adapters' : 'pub/sub adapters';
    bars.push({ group: `Redis: broadcast to ${fmtCount(data.clients)} clients over 3 nodes`, label: adapters, peer: 'socket.io', ratio: ours.median / peer.median });
  }
  return bars;
}

function pollingBars(data) {
  // Times: socket.io / ours (right of 1x: ours faster); the concurrent rate: ours / socket.io.
  const peer = data.results['socket.io'];
  const ours = data.results[OURS];
  if (!peer || !ours) return [];
  const group = 'Polling cycle: connect, one acked event, disconnect';
  const bar = (label, ratio) => ({ group, label, peer: 'socket.io', ratio });
  return [
    bar('sequential p50', peer.seq.p50Ms / ours.seq.p50Ms),
    bar('sequential p99', peer.seq.p99Ms / ours.seq.p99Ms),
    bar(`${data.opts.concurrency} concurrent, cycles/s`, ours.conc.rate / peer.conc.rate),
  ];
}

/** Every bar the results in `dir` give, in a stable order (the suites first, as `npm run bench` runs them). */
export function collectBars(dir = RESULTS) {
  const order = ['ws.json', 'socketio.json', 'hostile-cost.json', 'reconnect-storm.json', 'retry-memory.json', 'polling-cycle.json', 'redis-broadcast.json'];
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json') && !f.endsWith('.partial.json'))
    .sort((a, b) => (order.indexOf(a) + 1 || order.length + 1) - (order.indexOf(b) + 1 || order.length + 1) || a.localeCompare(b));
  const bars = [];
  for (const file of files) {
    const data = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    if (file === 'hostile-cost.json') bars.push(...hostileBars(data));
    else if (file === 'reconnect-storm.json') bars.push(...stormBars(data));
    else if (file === 'retry-memory.json') bars.push(...soakBars(data));
    else if (file === 'redis-broadcast.json') bars.push(...redisBars(data));
    else if (file === 'polling-cycle.json') bars.push(...pollingBars(data));
    else if (data.impls && Array.isArray(data.results)) bars.push(...suiteBars(file, data));
  }
  return bars.filter((b) => Number.isFinite(b.ratio) && b.ratio > 0);
}

const escapeXml = (s) => String(s).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
const fmtRatio = (x) => (x >= 10 ? x.toFixed(1) : x.toFixed(2)) + '×';

/** The SVG text for `bars`. */
export function renderSvg(bars) {
  const row = 20;
  const labelWidth = 340;
  const plotWidth = 420;
  const valueWidth = 70;
  const left = 10;
  const plotLeft = left + labelWidth;
  const width = plotLeft + plotWidth + valueWidth;
  const top = 62;

  // Log2 axis from a power of two at or below the smallest ratio (at most 0.5) to one at or above
  // the largest (at least 2), so 1.0 always sits inside with room on both sides.
  const ratios = bars.map((b) => b.ratio);
  const lo = Math.min(-1, Math.floor(Math.log2(Math.min(...ratios, 1))));
  const hi = Math.max(1, Math.ceil(Math.log2(Math.max(...ratios, 1))));
  const x = (ratio) => plotLeft + ((Math.log2(ratio) - lo) / (hi - lo)) * plotWidth;

  const body = [];
  let y = top;
  let group = null;
  for (const bar of bars) {
    if (bar.group !== group) {
      group = bar.group;
      y += 6;
      body.push(`<text class="group" x="${left}" y="${y + 13}">${escapeXml(group)}</text>`);
      y += row;
    }
    const x0 = Math.min(x(1), x(bar.ratio));
    const w = Math.max(1, Math.abs(x(bar.ratio) - x(1)));
    const colour = PEER_COLOURS[peerFamily(bar.peer)] ?? OTHER_COLOUR;
    const value = (bar.atMost ? '≥ ' : '') + fmtRatio(bar.ratio);
    body.push(
      `<text x="${left + 12}" y="${y + 13}">${escapeXml(bar.label)} <tspan class="peer">vs ${escapeXml(peerFamily(bar.peer))}</tspan></text>`,
      `<rect class="bar" data-case="${escapeXml(bar.label)}" data-peer="${escapeXml(bar.peer)}" x="${x0.toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 6}" fill="${colour}"><title>${escapeXml(`${bar.label} vs ${peerFamily(bar.peer)}: ${value}`)}</title></rect>`,
      `<text class="value" x="${(Math.max(x(bar.ratio), x(1)) + 4).toFixed(1)}" y="${y + 13}">${escapeXml(value)}</text>`,
    );
    y += row;
  }
  const bottom = y + 6;

  const axis = [];
  for (let p = lo; p <= hi; p++) {
    const at = x(2 ** p).toFixed(1);
        axis.push(`<line class="${p === 0 ? 'one' : 'grid'}" x1="${at}" y1="${top - 4}" x2="${at}" y2="${bottom}"/>`);
    axis.push(`<text class="tick" x="${at}" y="${top - 8}">${2 ** p}×</text>`);
  }

  const families = [...new Set(bars.map((b) => peerFamily(b.peer)))];
  const legend = families.map((peer, i) => {
    const lx = plotLeft + i * 100;
    return `<rect x="${lx}" y="${bottom + 10}" width="12" height="12" fill="${PEER_COLOURS[peer] ?? OTHER_COLOUR}"/><text x="${lx + 16}" y="${bottom + 20}">${escapeXml(peer)}</text>`;
  });
  const height = bottom + 34;

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title">`,
    `<title id="chart-title">switchboard relative to each peer, per benchmark case (higher is better for switchboard)</title>`,
    '<style>text{font:12px system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;fill:#222}' +
      '.group{font-weight:600}.peer{fill:#666}.tick{text-anchor:middle;fill:#555;font-size:11px}.value{font-size:11px}' +
      '.grid{stroke:#ddd;stroke-width:1}.one{stroke:#222;stroke-width:1.5}</style>',
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    `<text class="group" x="${left}" y="18">switchboard relative to each peer (log scale; right of 1× = switchboard better)</text>`,
    `<text class="peer" x="${left}" y="34">rates: ours / peer; memory, time and ms per MiB: peer / ours</text>`,
    ...axis,
    ...body,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

/** Reads `results`, writes the chart to `out`; returns the number of bars. */
export function writeChart({ results = RESULTS, out = join(RESULTS, 'ratios.svg') } = {}) {
  const bars = collectBars(results);
  writeFileSync(out, renderSvg(bars));
  return bars.length;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const value = (name) => (argv.includes('--' + name) ? argv[argv.indexOf('--' + name) + 1] : undefined);
  const out = value('out') ?? join(value('results') ?? RESULTS, 'ratios.svg');
  const count = writeChart({ results: value('results') ?? RESULTS, out });
  console.log(`chart: ${count} bars written to ${out}`);
}
