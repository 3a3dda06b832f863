// Runs every benchmark suite (npm run bench builds first), then redraws bench/results/ratios.svg.
//   node bench/run.mjs [--quick] [--runs N] [--duration ms] [--only name] [--window N] [--big N] [--src]
//                      [--storm-clients 2000,5000] [--soak-clients N] [--soak-minutes M] [--cycles N]
// The suites' own options are passed to each; the reconnect storm and the retry soak take theirs
// through --storm-* and --soak-*, the polling cycle its sequential count through --cycles. The soak runs 1 minute per server here (3 when run alone).
import { options } from './lib/suite.mjs';
import { writeChart } from './lib/chart.mjs';
import { wsSuite } from './ws.mjs';
import { socketioSuite } from './socketio.mjs';
import { hostileCostSuite } from './hostile-cost.mjs';
import { reconnectStormSuite } from './reconnect-storm.mjs';
import { retryMemorySuite } from './retry-memory.mjs';
import { pollingCycleSuite } from './polling-cycle.mjs';

const argv = process.argv.slice(2);
const value = (name, fallback) => (argv.includes('--' + name) ? argv[argv.indexOf('--' + name) + 1] : fallback);
const opts = options(argv);
// --only filters cases by name; the storm and the soak are one case each.
const selected = (name) => !opts.only || name.includes(opts.only);
const partial = Boolean(opts.only || opts.quick);

await wsSuite(opts);
await socketioSuite(opts);
await hostileCostSuite(opts);
if (selected('reconnect storm')) {
  await reconnectStormSuite({ sizes: String(value('storm-clients', opts.quick ? '500' : '2000,5000')).split(',').map(Number), partial });
}
if (selected('retry memory')) {
  await retryMemorySuite({
    clients: Number(value('soak-clients', opts.quick ? 200 : 2000)),
    minutes: Number(value('soak-minutes', opts.quick ? 0.5 : 1)),
    partial,
  });
}
if (selected('polling cycle')) {
  await pollingCycleSuite({ quick: opts.quick, runs: opts.runs, cycles: Number(value('cycles', opts.quick ? 100 : 300)), partial });
}
const bars = writeChart();
console.log(`\nresults written to bench/results/*.json${partial ? ' (*.partial.json for this partial run)' : ''}; chart (${bars} bars) to bench/results/ratios.svg`);
// Clients and servers are closed; a straggling handle (a socket's linger timer) must not keep the run open.
process.exit(0);
