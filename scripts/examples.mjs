// The documentation's examples live in examples/ as programs; README.md and docs/*.md show them in
// fenced blocks whose info string names the file: ```ts example examples/rooms.ts
//   node scripts/examples.mjs          check that every such block equals its file (exit 1 if not)
//   node scripts/examples.mjs --write  copy the files into the blocks
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const FENCE = /^```(?:ts|typescript) example(?: +(\S+))?\s*$/;
const write = process.argv.includes('--write');

const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((n) => n.endsWith('.md')).sort().map((n) => `docs/${n}`)];
const problems = [];
let blocks = 0;
for (const page of pages) {
  const lines = readFileSync(join(root, page), 'utf8').split('\n');
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const match = FENCE.exec(lines[i]);
    if (!match) continue;
    let end = i + 1;
    while (end < lines.length && !lines[end].startsWith('```')) end++;
    const where = `${page}:${i + 1}`;
    if (end === lines.length) { problems.push(`${where}: the block is never closed`); break; }
    blocks++;
    const file = match[1];
    if (!file) { problems.push(`${where}: name the example's file: \`\`\`ts example examples/<name>.ts`); i = end; continue; }
    if (!existsSync(join(root, file))) { problems.push(`${where}: ${file} does not exist`); i = end; continue; }
    const source = readFileSync(join(root, file), 'utf8').replace(/\n$/, '').split('\n');
    const shown = lines.slice(i + 1, end);
    if (shown.join('\n') !== source.join('\n')) {
      if (write) {
        lines.splice(i + 1, end - i - 1, ...source);
        end = i + 1 + source.length;
        changed = true;
      } else {
        const at = source.findIndex((line, n) => line !== shown[n]);
        const line = at === -1 ? source.length : at;
        problems.push(`${where}: differs from ${file} at its line ${line + 1}:\n  file: ${source[line] ?? '(end)'}\n  page: ${shown[line] ?? '(end)'}`);
      }
    }
    i = end;
  }
  if (changed) writeFileSync(join(root, page), lines.join('\n'));
}
if (problems.length) {
  console.error(`${problems.join('\n')}\n(node scripts/examples.mjs --write copies the files into the pages)`);
  process.exit(1);
}
console.log(`${blocks} example blocks ${write ? 'written from' : 'match'} their files`);
