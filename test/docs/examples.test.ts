// The documentation's examples are programs in examples/ (a package of its own, "type": "module",
// depending on switchboard through `file:..`): each is type-checked under the settings `tsc --init`
// gives a new project (examples/tsconfig.json) against the built declarations, and run from
// examples/ with a timeout. Each must exit 0 and print exactly the lines its `// → text` comments
// announce, in order. The README and docs show them in blocks naming their file
// (```ts example examples/rooms.ts), checked equal to the file by scripts/examples.mjs. The CLI
// commands and npm scripts the README shows are checked against the real help output and package.json.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { redisSkip } from '../shared/redis.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const examplesDir = join(root, 'examples');
const EXAMPLE_TIMEOUT_MS = 30_000;
const EXPECTED_OUTPUT = /\/\/ → (.*)$/;

interface Example {
  file: string;
  code: string;
  expected: string[];
}

const examples: Example[] = readdirSync(examplesDir).filter((name) => name.endsWith('.ts')).sort().map((name) => {
  const code = readFileSync(join(examplesDir, name), 'utf8');
  const expected = code.split('\n').flatMap((line) => {
    const match = EXPECTED_OUTPUT.exec(line);
    return match ? [match[1]!.trimEnd()] : [];
  });
  return { file: `examples/${name}`, code, expected };
});

/** The example files the README shows, from its ```ts example <file> blocks. */
const readmeExampleFiles = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/^```(?:ts|typescript) example +(\S+)/gm)].map((m) => m[1]!);

/** Runs one example from examples/; resolves with its exit code (null when killed), stdout and stderr. */
function runExample(file: string): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the example is a program, not a test file of this run
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, file)], { cwd: examplesDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, EXAMPLE_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

const needsRedis = (example: Example) => /from 'redis'/.test(example.code);
const redisSkipReason = examples.some(needsRedis) ? await redisSkip() : false;

describe('documentation examples', () => {
  before(() => {
    assert.ok(
      existsSync(join(root, 'dist/esm/server/index.js')) && existsSync(join(root, 'dist/esm/server/index.d.ts')),
      'the examples import the built package: run `npm run build` first (`npm test` does)',
    );
    // What `npm install` in examples/ makes of "switchboard": "file:..": a link to this checkout.
    // The examples' other imports (redis, socket.io-client, tsx) resolve from the repository's node_modules.
    const link = join(examplesDir, 'node_modules/switchboard');
    if (!existsSync(link) && !isLink(link)) {
      mkdirSync(join(examplesDir, 'node_modules'), { recursive: true });
      symlinkSync('../..', link, 'dir');
    }
  });

  test('the README and docs show the example files as they are', () => {
    const check = spawnSync(process.execPath, [join(root, 'scripts/examples.mjs')], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stdout + check.stderr);
  });

  test('the README has a runnable example for every entry point, each announcing its output', () => {
    const imported = new Set(examples.filter((e) => readmeExampleFiles.includes(e.file)).flatMap((e) => [...e.code.matchAll(/from '(switchboard[^']*)'/g)].map((m) => m[1]!)));
    for (const entry of ['switchboard', 'switchboard/client', 'switchboard/websocket', 'switchboard/engine', 'switchboard/adapters/redis', 'switchboard/cluster']) {
      assert.ok(imported.has(entry), `no README example imports '${entry}'`);
    }
    for (const example of examples) {
      assert.ok(example.expected.length > 0, `${example.file}: announce at least one printed line with "// → text"`);
    }
  });

  test("every example type-checks under a new project's strict settings", () => {
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(examplesDir, 'tsconfig.json')], { cwd: examplesDir, encoding: 'utf8' });
    assert.equal(result.status, 0, `type errors in the examples:\n${result.stdout}${result.stderr}`);
  });

  for (const example of examples) {
    // A Redis Cluster example runs against the cluster named by REDIS_CLUSTER (its own test,
    // test/adapters/redis-cluster.test.ts, starts one); there is no default cluster to reach.
    const clusterSkip = /createCluster\(/.test(example.code) && !process.env.REDIS_CLUSTER ? 'needs a Redis Cluster: set REDIS_CLUSTER=redis://host:port[,...]' : false;
    const skip = clusterSkip || (needsRedis(example) ? redisSkipReason : false);
    test(`${example.file} runs and prints what it announces`, { skip }, async () => {
      const { code, stdout, stderr, timedOut } = await runExample(example.file);
      assert.ok(!timedOut, `${example.file}: did not finish within ${EXAMPLE_TIMEOUT_MS} ms (something left open?)\n${stdout}${stderr}`);
      assert.equal(code, 0, `${example.file}: exited with ${code}\n${stdout}${stderr}`);
      const printed = stdout.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '');
      assert.deepEqual(printed, example.expected, `${example.file}: printed lines differ from the "// →" comments`);
    });
  }
});

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

describe('commands shown in the README', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const shellLines = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) => m[1]!.split('\n'));

  test('npm scripts exist in package.json', () => {
    const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts as Record<string, string>;
    const used = shellLines.flatMap((line) => [...line.matchAll(/\bnpm (?:run )?(start|test|[a-z:-]+)\b/g)].map((m) => m[1]!));
    const named = used.filter((name) => name !== 'install' && name !== 'run');
    assert.ok(named.includes('start') && named.includes('test'), 'the README shows npm start and npm test');
    for (const name of named) assert.ok(name in scripts, `README runs "npm ${name}", not a script in package.json`);
  });

  test('switchboard CLI flags exist in the command help', () => {
    const cli = join(root, 'bin/switchboard.js');
    const help = (command: string) => {
      const result = spawnSync(process.execPath, [cli, 'help', command], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      return result.stdout;
    };
    const helps: Record<string, string> = { serve: help('serve'), connect: help('connect') };
    let checked = 0;
    for (const line of shellLines) {
      const match = /\bswitchboard (serve|connect)\b([^#]*)/.exec(line);
      if (!match) continue;
      for (const flag of match[2]!.match(/--[a-z-]+/g) ?? []) {
        assert.ok(helps[match[1]!]!.includes(flag), `README: "switchboard ${match[1]} ${flag}" is not in its help`);
        checked++;
      }
    }
    assert.ok(checked >= 3, 'the README shows switchboard commands with flags');
  });
});
