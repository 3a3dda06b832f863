// Build: ESM + type declarations with tsc, CommonJS twins with esbuild (file by file, no bundling),
// so `import` and `require` load the same module graph shape.
import { execFileSync } from 'node:child_process';
import { copyFileSync, rmSync, mkdirSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as esbuild from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });

const sources = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) sources.push(path);
  }
})(join(root, 'src'));

await esbuild.build({
  entryPoints: sources,
  outdir: join(root, 'dist/cjs'),
  outbase: join(root, 'src'),
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  logOverride: { 'empty-import-meta': 'silent' },
});
mkdirSync(join(root, 'dist/cjs'), { recursive: true });
writeFileSync(join(root, 'dist/cjs/package.json'), '{ "type": "commonjs" }\n');
// The same declarations again under dist/cjs: inside its "type": "commonjs" scope TypeScript reads
// them as CommonJS declarations, so `require` users (module node16/nodenext, .cts) get types of
// their own format instead of TS1479 (an ES module's types required from CommonJS).
(function copyDeclarations(from, to) {
  for (const name of readdirSync(from)) {
    const path = join(from, name);
    if (statSync(path).isDirectory()) copyDeclarations(path, join(to, name));
    else if (name.endsWith('.d.ts')) {
      mkdirSync(to, { recursive: true });
      copyFileSync(path, join(to, name));
    }
  }
})(join(root, 'dist/esm'), join(root, 'dist/cjs'));

// Extra build steps (browser bundles, static pages) live next to the code that owns them.
for (const step of ['build-client.mjs', 'build-cli-assets.mjs']) {
  const path = join(root, 'scripts', step);
  try { statSync(path); } catch { continue; }
  execFileSync(process.execPath, [path], { stdio: 'inherit' });
}
console.log(`built ${sources.length} modules into ${relative(process.cwd(), join(root, 'dist'))}/{esm,cjs}`);
