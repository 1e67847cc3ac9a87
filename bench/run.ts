/**
 * `npm run bench`: every benchmark, each reporting ratios against a baseline measured in the same run
 * (these machines are shared and noisy, so absolute numbers mean little). Prints a Markdown table to
 * paste into docs/benchmarks.md and writes bench-results.json.
 * `npm run bench -- queue e2e` runs only the named ones.
 */
import { writeFileSync } from 'node:fs';
import { machine } from './support.ts';
import type { BenchResult } from './types.ts';

type Bench = () => Promise<BenchResult[]>;

const suites: Record<string, () => Promise<Bench>> = {
  queue: async () => (await import('./queue.ts')).benchQueue,
  api: async () => (await import('./api.ts')).benchApi,
  e2e: async () => (await import('./e2e.ts')).benchEndToEnd,
  models: async () => (await import('./models.ts')).benchModels,
  'noisy-neighbour': async () => (await import('./noisy-neighbour.ts')).benchNoisyNeighbour,
  placement: async () => (await import('./placement.ts')).benchPlacement,
  peer: async () => (await import('./peer.ts')).benchPeer,
  floor: async () => (await import('./floor.ts')).benchFloor,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length > 0 ? wanted : Object.keys(suites);
const all: (BenchResult & { suite: string })[] = [];
for (const name of names) {
  const load = suites[name];
  if (!load) throw new Error(`Unknown benchmark "${name}"; known: ${Object.keys(suites).join(', ')}`);
  process.stderr.write(`running ${name}…\n`);
  const results = await (await load())();
  for (const r of results) all.push({ suite: name, ...r });
}

const fmt = (n: number | undefined) =>
  n === undefined
    ? ''
    : Math.abs(n) >= 100
      ? n.toFixed(0)
      : Math.abs(n) >= 1
        ? n.toFixed(2)
        : n.toPrecision(3);
const lines = [
  `Machine: ${machine()} · ${new Date().toISOString().slice(0, 10)}`,
  '',
  '| suite | measure | value | unit | baseline | ratio | note |',
  '|---|---|---:|---|---:|---:|---|',
  ...all.map(
    (r) =>
      `| ${r.suite} | ${r.name} | ${fmt(r.value)} | ${r.unit} | ${fmt(r.baseline)} | ${fmt(r.ratio)} | ${r.note ?? ''} |`,
  ),
];
process.stdout.write(`${lines.join('\n')}\n`);
writeFileSync(
  'bench-results.json',
  JSON.stringify({ machine: machine(), date: new Date().toISOString(), results: all }, null, 2),
);
