// The documentation's examples are programs: every fenced block tagged ```ts example in README.md and
// docs/*.md is written to a file inside the package (so `switchboard`, `switchboard/client`, ...
// resolve to the built dist/ through package.json "exports", as in an application), type-checked
// against the built declarations, and run with a timeout. Each must exit 0 and print exactly the
// lines its `// → text` comments announce, in order. The CLI commands and npm scripts the README
// shows are checked against the real help output and package.json.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Under the repository's git-ignored tmp/, so the package's self-reference resolves. */
const workDir = join(root, 'tmp', `docs-examples-${process.pid}`);
const EXAMPLE_TIMEOUT_MS = 30_000;
const FENCE_OPEN = /^```(?:ts|typescript) example\s*$/;
const EXPECTED_OUTPUT = /\/\/ → (.*)$/;

interface Example {
  /** Where the block starts, e.g. `README.md:42`. */
  where: string;
  file: string;
  code: string;
  expected: string[];
}

function markdownFiles(): string[] {
  const docs = join(root, 'docs');
  const pages = readdirSync(docs).filter((name) => name.endsWith('.md')).sort().map((name) => join(docs, name));
  return [join(root, 'README.md'), ...pages];
}

function extractExamples(path: string): Example[] {
  const name = path === join(root, 'README.md') ? 'README.md' : `docs/${basename(path)}`;
  const lines = readFileSync(path, 'utf8').split('\n');
  const examples: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE_OPEN.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.startsWith('```')) end++;
    assert.ok(end < lines.length, `${name}:${i + 1}: example block is never closed`);
    const code = lines.slice(start, end).join('\n') + '\n';
    const expected = lines.slice(start, end).flatMap((line) => {
      const match = EXPECTED_OUTPUT.exec(line);
      return match ? [match[1]!.trimEnd()] : [];
    });
    const file = `${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-line-${i + 1}.ts`;
    examples.push({ where: `${name}:${i + 1}`, file, code, expected });
    i = end;
  }
  return examples;
}

const examples = markdownFiles().flatMap(extractExamples);

/** Runs one example; resolves with its exit code (null when killed), stdout and stderr. */
function runExample(path: string): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // the example is a program, not a test file of this run
  const child = spawn(process.execPath, ['--import', 'tsx', path], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
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

describe('documentation examples', () => {
  before(() => {
    assert.ok(
      existsSync(join(root, 'dist/esm/server/index.js')) && existsSync(join(root, 'dist/esm/server/index.d.ts')),
      'the examples import the built package: run `npm run build` first (`npm test` does)',
    );
    mkdirSync(workDir, { recursive: true });
    for (const example of examples) writeFileSync(join(workDir, example.file), example.code);
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  test('the README has a runnable example for every entry point, each announcing its output', () => {
    const readme = examples.filter((e) => e.where.startsWith('README.md:'));
    const imported = new Set(readme.flatMap((e) => [...e.code.matchAll(/from '(switchboard[^']*)'/g)].map((m) => m[1]!)));
    for (const entry of ['switchboard', 'switchboard/client', 'switchboard/websocket', 'switchboard/engine', 'switchboard/adapters/redis', 'switchboard/cluster']) {
      assert.ok(imported.has(entry), `no README example imports '${entry}'`);
    }
    for (const example of examples) {
      assert.ok(example.expected.length > 0, `${example.where}: announce at least one printed line with "// → text"`);
    }
  });

  test('every example type-checks against the built declarations', () => {
    writeFileSync(join(workDir, 'tsconfig.json'), JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '.', declaration: false, sourceMap: false },
      include: ['*.ts'],
    }));
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = spawnSync(process.execPath, [tsc, '-p', join(workDir, 'tsconfig.json')], { cwd: workDir, encoding: 'utf8' });
    // Point errors at the Markdown line rather than the generated file.
    const report = (result.stdout + result.stderr).replace(/([a-z0-9-]+)-line-(\d+)\.ts\((\d+),(\d+)\)/gi, (_m, file: string, start: string, line: string) => {
      const example = examples.find((e) => e.file === `${file}-line-${start}.ts`);
      return example ? `${example.where.split(':')[0]}:${Number(start) + Number(line)}` : _m;
    });
    assert.equal(result.status, 0, `type errors in the documentation examples:\n${report}`);
  });

  for (const example of examples) {
    test(`${example.where} runs and prints what it announces`, async () => {
      const { code, stdout, stderr, timedOut } = await runExample(join(workDir, example.file));
      assert.ok(!timedOut, `${example.where}: did not finish within ${EXAMPLE_TIMEOUT_MS} ms (something left open?)\n${stdout}${stderr}`);
      assert.equal(code, 0, `${example.where}: exited with ${code}\n${stdout}${stderr}`);
      const printed = stdout.split('\n').map((line) => line.trimEnd()).filter((line) => line !== '');
      assert.deepEqual(printed, example.expected, `${example.where}: printed lines differ from the "// →" comments`);
    });
  }
});

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
