/**
 * A small HTTP load generator run as its own process (so it does not share the server's event loop):
 * `connections` concurrent request loops for `durationMs`, reporting requests/s and latency percentiles.
 * Usage: tsx bench/load.ts '<json spec>'  →  prints one JSON line.
 */
interface Spec {
  url: string;
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  durationMs: number;
  /** Distinct Idempotency-Keys etc. are not needed; every request is a new job. */
  expectStatus: number;
}

const spec = JSON.parse(process.argv[2]!) as Spec;
const latencies: number[] = [];
let errors = 0;
const end = performance.now() + spec.durationMs;

async function loop(): Promise<void> {
  while (performance.now() < end) {
    const start = performance.now();
    try {
      const res = await fetch(spec.url, {
        method: spec.method,
        headers: spec.headers ?? {},
        ...(spec.body ? { body: spec.body } : {}),
      });
      await res.arrayBuffer();
      if (res.status !== spec.expectStatus) errors++;
      else latencies.push(performance.now() - start);
    } catch {
      errors++;
    }
  }
}

const started = performance.now();
await Promise.all(Array.from({ length: spec.connections }, loop));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, errors, perSec: latencies.length / seconds, p50: pct(50), p99: pct(99) })}\n`,
);
