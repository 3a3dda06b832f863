// The C load generator (bench/loadgen/loadgen.c) for `--gen c`: built with the system's C compiler
// into a temporary directory named after the source's hash (rebuilt when the source changes), and
// driven over its stdin/stdout line protocol with the same commands as the Node workers.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../loadgen/loadgen.c', import.meta.url));

/** Path of the built generator, or throws with the reason it cannot be built. */
export function buildCGen() {
  const source = readFileSync(SOURCE);
  const dir = join(tmpdir(), `switchboard-loadgen-${createHash('sha1').update(source).digest('hex').slice(0, 12)}`);
  const bin = join(dir, 'loadgen');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const cc = process.env.CC || 'cc';
  const res = spawnSync(cc, ['-O2', '-o', bin, SOURCE, '-lm'], { encoding: 'utf8' });
  if (res.error) throw new Error(`no C compiler (${cc}: ${res.error.code}); install one (apt-get install gcc) or use the Node generator`);
  if (res.status !== 0) throw new Error(`${cc} failed to build ${SOURCE}:\n${res.stderr}`);
  return bin;
}

/**
 * A suite's `--gen c`: builds the generator and notes how it drives the cases; without a C compiler
 * it says so and returns options with the Node workers instead. Returns the options to run with.
 */
export function chooseGen(opts, notes) {
  if (opts.gen !== 'c') return opts;
  try {
    buildCGen();
    notes.push(`C load generator (bench/loadgen): one process; echo keeps ${opts.window} messages in flight per connection`);
    return opts;
  } catch (err) {
    console.log(`--gen c skipped, the Node generator runs instead: ${err.message}`);
    return { ...opts, gen: 'node' };
  }
}
