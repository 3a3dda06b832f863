// Builds the browser bundles of switchboard/client with esbuild (called by `npm run build`):
//   dist/browser/switchboard.js            IIFE, readable   (global `switchboard`, e.g. switchboard.io())
//   dist/browser/switchboard.min.js        IIFE, minified
//   dist/browser/switchboard.msgpack.min.js IIFE, minified, socket.io-msgpack-parser as default parser
//   dist/browser/switchboard.esm.min.js    ES module, minified
//   dist/browser/socket.io.js, socket.io.min.js, socket.io.msgpack.min.js
//                                          the same scripts with the global `io` (socket.io's URLs)
//   dist/browser/xhr.esm.min.js, options.esm.min.js, parser.esm.min.js
//                                          the opt-in modules, importing ./switchboard.esm.min.js
// each with a source map. The minified files get a second pass (scripts/minify-browser.mjs).
// Usage: node scripts/build-client.mjs [--outdir dir]
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';
import { minifyFile, propertyNames } from './minify-browser.mjs';

const root = new URL('..', import.meta.url).pathname;
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? resolve(process.argv[at + 1]) : join(root, 'dist/browser');
mkdirSync(outdir, { recursive: true });

/** Fails the build if anything Node-only (node:*, ws, our Node WebSocket) reaches the bundle. */
const browserOnly = {
  name: 'browser-only',
  setup(build) {
    build.onResolve({ filter: /^(node:|ws$|bufferutil|utf-8-validate)/ }, (args) => ({
      errors: [{ text: `Node-only module "${args.path}" imported by ${args.importer}` }],
    }));
    build.onResolve({ filter: /node-websocket\.js$/ }, (args) => ({
      errors: [{ text: `Node-only file "${args.path}" imported by ${args.importer}` }],
    }));
  },
};

/**
 * Browser versions of three modules:
 * - src/client/platform.js (Node: node:http + our WebSocket) → platform.browser.ts (fetch + WebSocket);
 * - src/client/default-codec.js → default-codec.browser.ts: the same Socket.IO encoding and decoding,
 *   written for size (checked equal by test/client/default-codec-browser.test.ts), ~0.3 kB less gzipped;
 * - src/protocol/engineio.js → src/client/engineio-browser.ts: the same framing with the browser's
 *   native base64 (checked equal by test/client/engineio-browser.test.ts), ~0.9 kB less gzipped.
 */
const browserModules = {
  name: 'browser-modules',
  setup(build) {
    build.onResolve({ filter: /^\.\/platform\.js$/ }, () => ({ path: join(root, 'src/client/platform.browser.ts') }));
    build.onResolve({ filter: /^\.\/default-codec\.js$/ }, () => ({ path: join(root, 'src/client/default-codec.browser.ts') }));
    build.onResolve({ filter: /\/protocol\/engineio\.js$/ }, () => ({ path: join(root, 'src/client/engineio-browser.ts') }));
  },
};

/** The msgpack builds: socket.io-msgpack-parser is the default codec (placed before browserModules). */
const msgpackCodec = {
  name: 'msgpack-codec',
  setup(build) {
    build.onResolve({ filter: /^\.\/default-codec\.js$/ }, () => ({ path: join(root, 'src/client/default-codec.msgpack.ts') }));
  },
};

/** The opt-in modules share the core's classes: every import of the client resolves to the ES module bundle. */
const coreExternal = {
  name: 'core-external',
  setup(build) {
    build.onResolve({ filter: /^\.\/(engine|transports|platform-types|manager)\.js$/ }, () => ({ path: './switchboard.esm.min.js', external: true }));
  },
};

// The script defines the global `switchboard`; the ES module exports the same names.
const script = join(root, 'src/client/browser-global.ts');
const ioScript = join(root, 'src/client/browser-io-global.ts');
const module = join(root, 'src/client/browser.ts');
// Members named `_x` are internal to the client (never part of its API): shortened, with one
// renaming shared by every build so the opt-in modules reach the core's members.
const common = {
  bundle: true,
  platform: 'browser',
  target: ['es2022'],
  sourcemap: true,
  legalComments: 'none',
  // Internal protocol errors without their messages' text (src/protocol/detail.ts).
  define: { SWITCHBOARD_BROWSER: 'true' },
  mangleProps: /^_/,
  reserveProps: /^(_placeholder|__proto__)$/,
  // Plain assignments instead of class field definitions: smaller output, same behaviour here.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
  logLevel: 'warning',
  plugins: [browserModules, browserOnly],
};
// The ES module first: its renaming of internal members is the one the opt-in modules follow.
const { mangleCache } = await esbuild.build({
  ...common,
  entryPoints: [module],
  format: 'esm',
  minify: true,
  outfile: join(outdir, 'switchboard.esm.min.js'),
  mangleCache: {},
});
common.mangleCache = mangleCache;
const iife = (entry, outfile, extra = {}) =>
  esbuild.build({ ...common, entryPoints: [entry], format: 'iife', outfile: join(outdir, outfile), ...extra });
// The msgpack scripts carry the parser codec anyway: the `parser` option works there without an import.
const msgpack = (entry) => ({
  entryPoints: [],
  stdin: { contents: `import './parser.ts';\nimport ${JSON.stringify(entry)};`, resolveDir: join(root, 'src/client'), sourcefile: 'msgpack-entry.ts', loader: 'ts' },
  minify: true,
  plugins: [msgpackCodec, browserModules, browserOnly],
});
await Promise.all([
  iife(script, 'switchboard.js'),
  iife(script, 'switchboard.min.js', { minify: true }),
  iife(script, 'switchboard.msgpack.min.js', msgpack(script)),
  iife(ioScript, 'socket.io.js'),
  iife(ioScript, 'socket.io.min.js', { minify: true }),
  iife(ioScript, 'socket.io.msgpack.min.js', msgpack(ioScript)),
  ...['xhr', 'options', 'parser'].map((name) =>
    esbuild.build({
      ...common,
      entryPoints: [join(root, `src/client/${name}.ts`)],
      format: 'esm',
      minify: true,
      outfile: join(outdir, `${name}.esm.min.js`),
      plugins: [coreExternal, browserModules, browserOnly],
    }),
  ),
]);

// UglifyJS after esbuild. The core bundles' private members become short public names that avoid
// every property name of that bundle, of the opt-in modules and of the shared renaming; the opt-in
// modules keep theirs (none today).
const cores = ['switchboard.esm.min.js', 'switchboard.min.js', 'switchboard.msgpack.min.js', 'socket.io.min.js', 'socket.io.msgpack.min.js'];
const optIns = ['xhr.esm.min.js', 'options.esm.min.js', 'parser.esm.min.js'];
const shared = new Set(Object.values(mangleCache).filter((name) => typeof name === 'string'));
for (const file of optIns) for (const name of propertyNames(join(outdir, file))) shared.add(name);
for (const file of cores) {
  const taken = new Set([...shared, ...propertyNames(join(outdir, file))]);
  minifyFile(join(outdir, file), { module: file.includes('.esm.'), taken });
}
for (const file of optIns) minifyFile(join(outdir, file), { module: true });
