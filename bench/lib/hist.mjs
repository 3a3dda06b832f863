// Log-bucketed latency histogram (about 2% resolution), cheap to record and to merge across
// processes (the counts travel over IPC as a plain array).
const PER_E = 50; // buckets per factor e
const BUCKETS = 1000; // e^(1000/50) µs ≈ 485 s: enough for anything a benchmark sees

export class Histogram {
  constructor() {
    this.counts = new Float64Array(BUCKETS);
    this.total = 0;
  }

  /** Record one sample, in microseconds. */
  add(us) {
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, (Math.log(us) * PER_E) | 0);
    this.counts[i]++;
    this.total++;
  }

  reset() {
    this.counts.fill(0);
    this.total = 0;
  }

  toJSON() {
    return Array.from(this.counts);
  }

  merge(counts) {
    for (let i = 0; i < BUCKETS; i++) {
      this.counts[i] += counts[i];
      this.total += counts[i];
    }
  }

  /** The q-quantile (0..1) in microseconds, or NaN without samples. */
  quantile(q) {
    if (this.total === 0) return NaN;
    const rank = q * this.total;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank && this.counts[i] > 0) return Math.exp((i + 0.5) / PER_E);
    }
    return Math.exp(BUCKETS / PER_E);
  }
}
