// Builds the API reference with TypeDoc: node tools/api-docs/build.mjs [--out DIR] (default docs/api,
// git-ignored). Warnings are errors (typedoc.json): every export needs a doc comment.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// TypeDoc as installed for this folder, next to the TypeScript release it runs on.
const typedoc = join(dirname(createRequire(join(here, 'package.json')).resolve('typedoc/package.json')), 'bin/typedoc');
const at = process.argv.indexOf('--out');
const out = at > 0 ? resolve(process.argv[at + 1]) : join(here, '../../docs/api');
const result = spawnSync(process.execPath, [typedoc, '--options', join(here, 'typedoc.json'), '--out', out], { stdio: 'inherit' });
process.exit(result.status ?? 1);
