// The package as users install it. A copy of the working tree without dist/ is installed as a
// folder into a scratch project (npm runs the "prepare" script, which builds dist/ as it does for git
// installs), then packed with `npm pack` and installed from the tarball into a second scratch project,
// offline (the package has no runtime dependencies). From there: every entry point is imported from
// an ES module and required from CommonJS, a server and client talk through the installed files, the
// CLI runs, and a consumer file using every entry point type-checks under the settings of
// `tsc --init` (strict ESM), under module node16 from a .cts file (strict CommonJS) and under bundler
// resolution, with the repository's own TypeScript. Last, a git URL install (npm clones, installs
// the dependencies and runs "prepare").
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const consumerFixtures = fileURLToPath(new URL('./consumer/', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const ENTRY_POINTS: Record<string, string> = {
  switchboard: 'Server',
  'switchboard/client': 'io',
  'switchboard/websocket': 'WebSocketServer',
  'switchboard/engine': 'EngineServer',
  'switchboard/adapters/redis': 'createAdapter',
  'switchboard/cluster': 'setupPrimary',
};
const STEP_TIMEOUT_MS = 120_000;

/** The environment of a user's shell: not this test run's (npm test's npm_* variables, the test runner's context). */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(key) && key !== 'NODE_TEST_CONTEXT' && key !== 'NODE_OPTIONS') env[key] = value;
  }
  return { ...env, NO_UPDATE_NOTIFIER: '1', npm_config_fund: 'false', npm_config_audit: 'false' };
}

/** Runs a command; rejects with everything it printed when it exits non-zero. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: userEnv(), timeout: STEP_TIMEOUT_MS, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** The files a checkout holds (tracked, and untracked but not ignored), so uncommitted work is what is packed. */
async function copyCheckout(to: string, withTools = true): Promise<void> {
  const listed = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], root);
  for (const file of listed.split('\0')) {
    if (!file || file.startsWith('dist/') || !existsSync(join(root, file))) continue;
    mkdirSync(dirname(join(to, file)), { recursive: true });
    cpSync(join(root, file), join(to, file));
  }
  // The build's tools (TypeScript, esbuild) as a git install would have them after `npm install`.
  if (withTools) symlinkSync(join(root, 'node_modules'), join(to, 'node_modules'), 'dir');
}

function scratchProject(dir: string, type: 'module' | 'commonjs'): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `scratch-${type}`, version: '1.0.0', private: true, type }, null, 2));
}

describe('the installed package', { timeout: 10 * 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'switchboard-package-'));
  const checkout = join(work, 'checkout');
  const folderInstall = join(work, 'folder-install');
  const app = join(work, 'app');
  let tarball = '';

  before(async () => {
    await copyCheckout(checkout);
    assert.ok(!existsSync(join(checkout, 'dist')), 'the copy starts without dist/');
    scratchProject(folderInstall, 'module');
    await run('npm', ['install', '--offline', checkout], folderInstall);
    const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], checkout);
    tarball = join(work, (JSON.parse(packed) as Array<{ filename: string }>)[0]!.filename);
    scratchProject(app, 'module');
    await run('npm', ['install', '--offline', tarball], app);
    // What the consumer type-check needs besides the package: Node's types and the Redis client.
    mkdirSync(join(app, 'node_modules/@types'), { recursive: true });
    symlinkSync(join(root, 'node_modules/@types/node'), join(app, 'node_modules/@types/node'), 'dir');
    symlinkSync(join(root, 'node_modules/redis'), join(app, 'node_modules/redis'), 'dir');
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  test('a folder install builds dist/ with the prepare script and imports', async () => {
    assert.ok(existsSync(join(checkout, 'dist/esm/server/index.js')), 'prepare built dist/ in the installed folder');
    const printed = await run(process.execPath, ['--input-type=module', '-e', "const { Server } = await import('switchboard'); console.log(typeof Server)"], folderInstall);
    assert.equal(printed.trim(), 'function');
  });

  test('the tarball holds the build, both kinds of declarations, the licence and the changelog', async () => {
    const listing = await run('tar', ['-tzf', tarball], work);
    for (const file of ['LICENSE', 'README.md', 'CHANGELOG.md', 'bin/switchboard.js', 'dist/esm/server/index.d.ts', 'dist/cjs/server/index.d.ts', 'dist/cjs/adapters/cluster.d.ts', 'dist/browser/switchboard.min.js', 'dist/esm/cli/public/index.html']) {
      assert.ok(listing.includes(`package/${file}\n`), `${file} is missing from the tarball`);
    }
    assert.ok(!/package\/(src|test|examples)\//.test(listing), 'sources, tests and examples stay out of the tarball');
  });

  test('every entry point imports from an ES module and requires from CommonJS', async () => {
    const entries = JSON.stringify(ENTRY_POINTS);
    const esm = `for (const [entry, name] of Object.entries(${entries})) { const m = await import(entry); if (typeof m[name] !== 'function') throw new Error(entry + ' lacks ' + name); } console.log('esm ok');`;
    const cjs = `for (const [entry, name] of Object.entries(${entries})) { const m = require(entry); if (typeof m[name] !== 'function') throw new Error(entry + ' lacks ' + name); } console.log('cjs ok');`;
    assert.equal((await run(process.execPath, ['--input-type=module', '-e', esm], app)).trim(), 'esm ok');
    assert.equal((await run(process.execPath, ['--input-type=commonjs', '-e', cjs], app)).trim(), 'cjs ok');
  });

  test('a server and a client from the installed files talk, in ESM and in CommonJS', async () => {
    // The same program twice: once importing the ES modules, once requiring the CommonJS build.
    const program = (load: (entry: string) => string) => `
      const { createServer } = ${load('node:http')};
      const { Server } = ${load('switchboard')};
      const { io } = ${load('switchboard/client')};
      const httpServer = createServer();
      const server = new Server(httpServer);
      server.on('connection', (socket) => socket.on('hello', (name, ack) => ack('hello, ' + name)));
      httpServer.listen(0, '127.0.0.1', () => {
        const client = io('http://127.0.0.1:' + httpServer.address().port);
        client.timeout(10000).emitWithAck('hello', 'ada').then((reply) => {
          console.log(reply);
          client.disconnect();
          return server.close();
        }, (error) => { console.error(error); process.exit(1); });
      });`;
    writeFileSync(join(app, 'talk.mjs'), program((entry) => `await import('${entry}')`));
    writeFileSync(join(app, 'talk.cjs'), program((entry) => `require('${entry}')`));
    assert.equal((await run(process.execPath, ['talk.mjs'], app)).trim(), 'hello, ada');
    assert.equal((await run(process.execPath, ['talk.cjs'], app)).trim(), 'hello, ada');
  });

  test('the CLI runs through npx and node_modules/.bin', async () => {
    const help = await run('npx', ['--no', '--', 'switchboard', '--help'], app);
    assert.match(help, /switchboard serve/);
    const serveHelp = await run(join(app, 'node_modules/.bin/switchboard'), ['serve', '--help'], app);
    assert.match(serveHelp, /--port/);
  });

  describe('a consumer type-checks', () => {
    before(async () => {
      for (const name of readdirSync(consumerFixtures)) cpSync(join(consumerFixtures, name), join(app, name));
      // TypeScript's own defaults for a new project, as `tsc --init` writes them (strict,
      // exactOptionalPropertyTypes, noUncheckedIndexedAccess, verbatimModuleSyntax, module nodenext).
      await run(process.execPath, [tsc, '--init'], app);
      const configs: Record<string, object> = {
        esm: { compilerOptions: { types: ['node'], noEmit: true, skipLibCheck: false }, files: ['consumer.ts'] },
        cjs: { compilerOptions: { types: ['node'], noEmit: true, module: 'node16' }, files: ['consumer.cts'] },
        bundler: { compilerOptions: { types: ['node'], noEmit: true, module: 'preserve', moduleResolution: 'bundler' }, files: ['consumer.ts'] },
      };
      for (const [name, config] of Object.entries(configs)) {
        writeFileSync(join(app, `tsconfig.${name}.json`), JSON.stringify({ extends: './tsconfig.json', ...config }, null, 2));
      }
    });

    for (const [name, what] of [['esm', 'strict ESM (tsc --init, library files checked too)'], ['cjs', 'strict CommonJS (module node16, .cts)'], ['bundler', 'bundler resolution (module preserve)']] as const) {
      test(what, async () => {
        await run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`], app);
      });
    }
  });
});

// A git URL, as `npm install git+https://...` users get it: npm clones the repository, installs its
// dependencies (devDependencies too: from npm's cache when it has them) and runs `prepare`, which
// builds dist/. A local repository made from the checkout stands in for the remote one.
describe('a git install', { timeout: 10 * 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'switchboard-git-install-'));
  const repo = join(work, 'repo');
  const app = join(work, 'app');
  after(() => rmSync(work, { recursive: true, force: true }));

  test('npm install git+file://... builds dist/, and the package imports from ESM and CommonJS and runs its CLI', async () => {
    await copyCheckout(repo, false);
    await run('git', ['init', '-q'], repo);
    await run('git', ['add', '-A'], repo);
    await run('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.invalid', 'commit', '-q', '-m', 'snapshot'], repo);
    scratchProject(app, 'commonjs');
    await run('npm', ['install', '--prefer-offline', `git+file://${repo}`], app);
    assert.ok(existsSync(join(app, 'node_modules/switchboard/dist/esm/server/index.js')), 'prepare built dist/');
    const esm = "const { Server } = await import('switchboard'); const { io } = await import('switchboard/client'); console.log(typeof Server, typeof io)";
    assert.equal((await run(process.execPath, ['--input-type=module', '-e', esm], app)).trim(), 'function function');
    const cjs = "const { WebSocketServer } = require('switchboard/websocket'); console.log(typeof WebSocketServer)";
    assert.equal((await run(process.execPath, ['--input-type=commonjs', '-e', cjs], app)).trim(), 'function');
    assert.match(await run(join(app, 'node_modules/.bin/switchboard'), ['--help'], app), /switchboard serve/);
  });
});
