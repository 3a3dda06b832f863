// Which objects make up a heap snapshot: self size and count per constructor, biggest first.
// With --per N, sizes are also divided by N (e.g. the number of idle connections).
// With --retainers Name, lists what holds objects of constructor Name (edge and holder, counted).
// Usage: node bench/tools/heap-summary.mjs file.heapsnapshot [--per 10000] [--top 30] [--retainers Name]
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const opt = (name, fallback) => {
  const i = process.argv.indexOf('--' + name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const per = opt('per', 0);
const top = opt('top', 30);

const snap = JSON.parse(readFileSync(file, 'utf8'));
const meta = snap.snapshot.meta;
const fields = meta.node_fields;
const width = fields.length;
const TYPE = fields.indexOf('type');
const NAME = fields.indexOf('name');
const SIZE = fields.indexOf('self_size');
const types = meta.node_types[TYPE];
const groups = new Map();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + TYPE]];
  const size = snap.nodes[i + SIZE];
  total += size;
  const name = type === 'object' || type === 'closure' ? `${type} ${snap.strings[snap.nodes[i + NAME]]}` : `(${type})`;
  const g = groups.get(name) ?? { count: 0, size: 0 };
  g.count++;
  g.size += size;
  groups.set(name, g);
}
console.log(`total self size ${(total / 1024 / 1024).toFixed(1)} MiB`);
for (const [name, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, top)) {
  const share = per ? `  ${(g.size / per).toFixed(0).padStart(6)} B/conn  ${(g.count / per).toFixed(2).padStart(6)} objs/conn` : '';
  console.log(`${(g.size / 1024).toFixed(0).padStart(9)} KiB ${String(g.count).padStart(8)}${share}  ${name.slice(0, 80)}`);
}

const wanted = process.argv.includes('--retainers') ? process.argv[process.argv.indexOf('--retainers') + 1] : null;
if (wanted) {
  const EDGE_COUNT = fields.indexOf('edge_count');
  const ef = meta.edge_fields;
  const ew = ef.length;
  const E_TYPE = ef.indexOf('type');
  const E_NAME = ef.indexOf('name_or_index');
  const E_TO = ef.indexOf('to_node');
  const edgeTypes = meta.edge_types[E_TYPE];
  const label = (i) => {
    const type = types[snap.nodes[i + TYPE]];
    return type === 'object' || type === 'closure' ? `${type} ${snap.strings[snap.nodes[i + NAME]]}`.slice(0, 60) : `(${type})`;
  };
  const holders = new Map();
  let e = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const edges = snap.nodes[i + EDGE_COUNT];
    for (let k = 0; k < edges; k++, e += ew) {
      const to = snap.edges[e + E_TO];
      // Matches a constructor name (`Socket`) or a group label as printed above (`(array)`, `closure onData`).
      const toType = types[snap.nodes[to + TYPE]];
      if (!(toType === 'object' && snap.strings[snap.nodes[to + NAME]] === wanted) && label(to) !== wanted) continue;
      const et = edgeTypes[snap.edges[e + E_TYPE]];
      if (et === 'weak') continue;
      const name = et === 'element' || et === 'hidden' ? `[${et}]` : snap.strings[snap.edges[e + E_NAME]];
      const key = `${label(i)} --${name}-->`;
      const h = holders.get(key) ?? { count: 0, size: 0 };
      h.count++;
      h.size += snap.nodes[to + SIZE];
      holders.set(key, h);
    }
  }
  console.log(`\nretainers of ${wanted} (count, self size of the retained objects${per ? ' per conn' : ''}):`);
  for (const [k, h] of [...holders].sort((a, b) => b[1].size - a[1].size).slice(0, 25)) {
    console.log(`${String(h.count).padStart(8)} ${(per ? (h.size / per).toFixed(0) + ' B' : h.size + ' B').padStart(10)}  ${k}`);
  }
}
