// Builds the browser bundles of switchboard/client with esbuild (called by `npm run build`):
//   dist/browser/switchboard.js         IIFE, readable   (global `switchboard`, e.g. switchboard.io())
//   dist/browser/switchboard.min.js     IIFE, minified
//   dist/browser/switchboard.esm.min.js ES module, minified
// each with a source map. Usage: node scripts/build-client.mjs [--outdir dir]
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as esbuild from 'esbuild';

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
 * Browser versions of two modules:
 * - src/client/platform.js (Node: node:http + our WebSocket) → platform.browser.ts (fetch + WebSocket);
 * - src/protocol/engineio.js → src/client/engineio-browser.ts: the same framing with the browser's
 *   native base64 (checked equal by test/client/engineio-browser.test.ts), ~0.9 kB less gzipped.
 */
const browserModules = {
  name: 'browser-modules',
  setup(build) {
    build.onResolve({ filter: /^\.\/platform\.js$/ }, () => ({ path: join(root, 'src/client/platform.browser.ts') }));
    build.onResolve({ filter: /\/protocol\/engineio\.js$/ }, () => ({ path: join(root, 'src/client/engineio-browser.ts') }));
  },
};

// The script defines the global `switchboard`; the ES module exports the same names.
const script = join(root, 'src/client/browser-global.ts');
const module = join(root, 'src/client/browser.ts');
const common = {
  bundle: true,
  platform: 'browser',
  target: ['es2022'],
  sourcemap: true,
  legalComments: 'none',
  // Members named `_x` are internal to the client (never part of its API): shorten them.
  mangleProps: /^_/,
  reserveProps: /^(_placeholder|__proto__)$/,
  // Plain assignments instead of class field definitions: smaller output, same behaviour here.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: false } },
  logLevel: 'warning',
  plugins: [browserModules, browserOnly],
};

await Promise.all([
  esbuild.build({ ...common, entryPoints: [script], format: 'iife', outfile: join(outdir, 'switchboard.js') }),
  esbuild.build({ ...common, entryPoints: [script], format: 'iife', minify: true, outfile: join(outdir, 'switchboard.min.js') }),
  esbuild.build({ ...common, entryPoints: [module], format: 'esm', minify: true, outfile: join(outdir, 'switchboard.esm.min.js') }),
]);
