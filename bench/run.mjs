// Runs every benchmark suite (npm run bench builds first). Options are passed to each suite:
//   node bench/run.mjs [--quick] [--runs N] [--duration ms] [--only name] [--window N] [--big N]
import { options } from './lib/suite.mjs';
import { wsSuite } from './ws.mjs';
import { socketioSuite } from './socketio.mjs';
import { hostileCostSuite } from './hostile-cost.mjs';

const opts = options();
await wsSuite(opts);
await socketioSuite(opts);
await hostileCostSuite(opts);
console.log('\nresults written to bench/results/{ws,socketio,hostile-cost}.json');
