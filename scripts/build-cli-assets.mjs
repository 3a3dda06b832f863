// Copies the CLI's static pages (demo chat, dashboard) from src/cli/public into dist/esm/cli/public.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const from = join(root, 'src/cli/public');
const to = join(root, 'dist/esm/cli/public');
rmSync(to, { recursive: true, force: true });
mkdirSync(to, { recursive: true });
cpSync(from, to, { recursive: true });
console.log('copied CLI pages to dist/esm/cli/public');
