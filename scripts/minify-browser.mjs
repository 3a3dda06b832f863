// The second minification pass of the browser bundles (scripts/build-client.mjs): UglifyJS over
// esbuild's minified output, its source map chained to esbuild's (so the map still points at src/).
// UglifyJS names variables per scope in a way that repeats (t, e, s in every function), which gzip
// rewards: about 230 B less than esbuild's output alone for switchboard.min.js, gzip -9.
//
// Before it, class-private members (`#x`) of the core bundles become short public properties:
// `this.#e` and `this.a` cost the same, but the `#e;` declarations go, and names are reused across
// classes that share no instances (~50 B gzip -9). Each name avoids every property name and string
// of its bundle, of the opt-in modules and of the shared mangle cache, and the names of its ancestor
// classes' members. The rewrite keeps every character's column (names padded with spaces,
// declarations blanked), so esbuild's source map stays exact for the text UglifyJS reads.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import UglifyJS from 'uglify-js';

const MAP_COMMENT = /\/\/# sourceMappingURL=\S+\s*$/;
const CLASS = new Set(['DefClass', 'ClassExpression']);
const CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ$_';
const NAMES = [...CHARS, ...[...CHARS].flatMap((a) => [...CHARS, ...'0123456789'].map((b) => a + b))].filter(
  (name) => !['do', 'if', 'in'].includes(name),
);

/** Every property name and string literal of a bundle: names a new property must not take. */
export function propertyNames(file) {
  const names = new Set();
  UglifyJS.parse(readFileSync(file, 'utf8').replace(MAP_COMMENT, ''), { module: true }).walk(
    new UglifyJS.TreeWalker((node) => {
      if (node.TYPE === 'Dot' || node.TYPE === 'Sub') names.add(node.property);
      else if (typeof node.key === 'string') names.add(node.key);
      else if (node.TYPE === 'String') names.add(node.value);
    }),
  );
  return names;
}

/** `#x` → short public names, same columns (see above). */
function publicPrivates(code, taken, module) {
  const ast = UglifyJS.parse(code, { module });
  ast.figure_out_scope({ module });
  const classes = [];
  const byDef = new Map(); // the binding a class is stored in → its entry
  const stack = [];
  ast.walk(
    new UglifyJS.TreeWalker((node, descend) => {
      if (node.TYPE === 'Dot' && typeof node.property === 'string' && node.property[0] === '#') {
        const owner = stack.findLast((entry) => entry.counts.has(node.property));
        if (!owner) throw new Error(`unresolved private name ${node.property}`);
        owner.uses.push([node.property, node.end.pos]);
        owner.counts.set(node.property, owner.counts.get(node.property) + 1);
        return;
      }
      if (node.TYPE === 'VarDef' && CLASS.has(node.value?.TYPE)) node.value.binding = node.name.definition();
      if (node.TYPE === 'Assign' && node.left.TYPE === 'SymbolRef' && CLASS.has(node.right.TYPE)) node.right.binding = node.left.definition();
      if (!CLASS.has(node.TYPE)) return;
      const entry = { counts: new Map(), uses: [], blanks: [], names: undefined, parent: node.extends };
      if (node.name) byDef.set(node.name.definition(), entry);
      if (node.binding) byDef.set(node.binding, entry);
      const members = node.properties.filter((m) => typeof m.key === 'string' && m.key[0] === '#');
      for (const m of members) entry.counts.set(m.key, 0);
      for (const m of members) {
        if (m.TYPE === 'ClassField' && !m.value && !m.static) {
          // `#x;`: nothing to initialise, the declaration goes.
          entry.blanks.push([m.start.pos, m.end.endpos]);
          continue;
        }
        const at = code.indexOf(m.key, m.start.pos);
        entry.uses.push([m.key, at]);
        entry.counts.set(m.key, entry.counts.get(m.key) + 1);
      }
      classes.push(entry);
      stack.push(entry);
      descend();
      stack.pop();
      return true;
    }),
  );
  // A class's members avoid its ancestors' names: the parent is named first.
  const parentOf = (entry) => {
    const ext = entry.parent;
    if (!ext) return undefined;
    if (ext.TYPE === 'SymbolRef' && byDef.has(ext.definition())) return byDef.get(ext.definition());
    if (ext.TYPE === 'SymbolRef' && ext.definition().undeclared) return undefined; // a global: Error
    throw new Error(`cannot tell which class ${ext.print_to_string()} is`);
  };
  const name = (entry) => {
    if (entry.names) return entry.names;
    const inherited = new Set();
    for (let p = parentOf(entry); p; p = parentOf(p)) for (const n of name(p).values()) inherited.add(n);
    const free = NAMES.filter((n) => !taken.has(n) && !inherited.has(n));
    entry.names = new Map([...entry.counts].sort((a, b) => b[1] - a[1]).map(([n], i) => [n, free[i]]));
    return entry.names;
  };
  const edits = [];
  for (const entry of classes) {
    const names = name(entry);
    for (const [from, at] of entry.uses) {
      const to = names.get(from);
      if (code.slice(at, at + from.length) !== from || to.length > from.length) throw new Error(`cannot rename ${from} at ${at}`);
      edits.push([at, from.length, to.padEnd(from.length)]);
    }
    for (const [start, end] of entry.blanks) edits.push([start, end - start, ' '.repeat(end - start)]);
  }
  edits.sort((a, b) => b[0] - a[0]);
  for (const [at, length, text] of edits) code = code.slice(0, at) + text + code.slice(at + length);
  UglifyJS.parse(code, { module }).walk(
    new UglifyJS.TreeWalker((node) => {
      if ((node.TYPE === 'Dot' ? node.property : node.key)?.[0] === '#') throw new Error('a private name is left');
    }),
  );
  return code;
}

/**
 * Minifies `file` in place with UglifyJS and rewrites `file.map` to map the result to the sources
 * of esbuild's map. `taken`: property names the new public names must avoid (all bundles).
 */
export function minifyFile(file, { module, taken }) {
  let code = readFileSync(file, 'utf8').replace(MAP_COMMENT, '');
  if (taken) code = publicPrivates(code, taken, module);
  const result = UglifyJS.minify(code, {
    module,
    toplevel: true,
    // pure_getters: reading a property of ours has no side effect (the `volatile` getter is only read
    // to be used). No `unsafe`: it would turn String(x) into '' + x, which differs for some objects.
    // No `unsafe_comps` either: it turns `!(a <= b)` into `a > b`, which differs for NaN. hoist_funs
    // moves function declarations to the top of their scope, where JavaScript hoists them anyway.
    compress: { passes: 3, pure_getters: true, hoist_funs: true },
    sourceMap: { content: readFileSync(file + '.map', 'utf8'), url: basename(file) + '.map', includeSources: true },
  });
  if (result.error) throw result.error;
  writeFileSync(file, result.code + '\n');
  writeFileSync(file + '.map', result.map);
}
