// Summarises a V8 .cpuprofile (from BENCH_PROF=server): self and inclusive time per function.
// Usage: node bench/tools/cpu-summary.mjs <file.cpuprofile> [--top N] [--filter substring]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
const top = Number(args[args.indexOf('--top') + 1]) || 40;
const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] : null;
if (!file) throw new Error('usage: cpu-summary.mjs <file.cpuprofile> [--top N] [--filter s]');

const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const hits = new Map();
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  hits.set(profile.samples[i], (hits.get(profile.samples[i]) ?? 0) + dt);
}
const label = (n) => {
  const f = n.callFrame;
  const url = f.url ? f.url.replace(/^.*\/(src|node_modules|bench)\//, '$1/') : '';
  return `${f.functionName || '(anonymous)'} ${url}${url ? ':' + (f.lineNumber + 1) : ''}`;
};
const self = new Map();
const incl = new Map();
let total = 0;
for (const [id, t] of hits) {
  total += t;
  const n = byId.get(id);
  self.set(label(n), (self.get(label(n)) ?? 0) + t);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur));
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + t);
  }
}
const pct = (t) => ((100 * t) / total).toFixed(1).padStart(5) + '%';
const show = (title, map) => {
  console.log(`\n${title}`);
  [...map].filter(([l]) => !filter || l.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, top)
    .forEach(([l, t]) => console.log(`${pct(t)}  ${l}`));
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled`);
show('self time', self);
show('inclusive time', incl);
