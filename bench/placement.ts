/**
 * Dedicated placement and the hybrid, against the real server (a child process, as in production):
 * (a) cold start to the first finished job and warm job latency of a dedicated function, against a shared
 *     tenant's job latency in the same run;
 * (b) memory (RSS of the whole process tree) with 100 idle dedicated tenants, against the same server with none,
 *     on a server that keeps no spare function process and on one that keeps one (the default);
 * (c) onboarding 1,000 shared and 50 dedicated tenants through the operator API;
 * (d) promotion of a tenant with 1,000 finished jobs and their artifacts while it keeps submitting: total
 *     time, and the longest any of its requests waited, against the longest before the move, with the move
 *     step that was running when it did.
 * Run standalone: `npx tsx bench/placement.ts`; only some cases: `npx tsx bench/placement.ts cold` (or
 * `SILOPOOL_BENCH_PLACEMENT=cold,memory`), cases `cold` (a), `memory` (b), `onboarding` (c), `promotion` (d),
 * `first` (a fresh server's first shared job).
 * `cold` also starts 5 more dedicated tenants one after another, each once the host has a loaded spare
 * process, and 5 on a second server that keeps none (each start forks Node), and reports the medians of
 * their first jobs, so one run gives more than one cold start of each kind on this noisy machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { newTenantId, startTestServer, type TestServer } from '../test/support/server.ts';
import type { BenchResult } from './types.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Memory in MB of a process and all its descendants, from /proc: RSS (each process's resident pages, the pages
 * of the `node` binary and libraries every process maps counted once per process) and PSS (proportional set
 * size, /proc/<pid>/smaps_rollup: a page shared by n processes counts 1/n in each), the memory the tree
 * really adds.
 */
function treeMemoryMb(root: number): { rss: number; pss: number } {
  const parents = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(entry), Number(fields[1]));
      rss.set(Number(entry), Number(fields[21]) * 4096);
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  let pss = 0;
  for (const pid of rss.keys()) {
    for (let p: number | undefined = pid; p && p > 1; p = parents.get(p)) {
      if (p === root) {
        total += rss.get(pid)!;
        try {
          const kb = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
          pss += Number(kb ?? 0) * 1024;
        } catch {
          // ended, or no smaps_rollup (Linux before 4.14): PSS reads low
        }
        break;
      }
    }
  }
  return { rss: total / 1024 / 1024, pss: pss / 1024 / 1024 };
}

async function job(server: TestServer, key: string, input: Record<string, unknown> = { revenue: 1_000_000 }) {
  const res = await server.api('/v1/models/finance/jobs', {
    method: 'POST',
    token: key,
    body: JSON.stringify({ input }),
  });
  if (res.status !== 202) throw new Error(`submit ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function finished(server: TestServer, key: string, id: string): Promise<void> {
  for (;;) {
    const res = await server.api(`/v1/jobs/${id}`, { token: key });
    const status = ((await res.json()) as { status: string }).status;
    if (status === 'succeeded') return;
    if (status === 'failed' || status === 'cancelled') throw new Error(`job ${id} ${status}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function timedJob(server: TestServer, key: string): Promise<number> {
  const started = performance.now();
  await finished(server, key, await job(server, key));
  return performance.now() - started;
}

async function functionsOf(server: TestServer) {
  const res = await server.api('/v1/admin/functions', { token: server.operatorToken });
  return (await res.json()) as {
    items: {
      tenantId: string;
      model: string;
      coldStartMs?: number;
      startedFrom?: 'spare' | 'fork';
      pid?: number;
    }[];
    spares: { loaded: number; loading: number };
  };
}

/**
 * `count` dedicated tenants created one after another, each one's first job timed (submit to succeeded:
 * the cold start is in it). With `spare`, each waits until the host has a loaded spare process before its
 * job (the default server's steady state); without, the server keeps none and every start forks.
 */
async function coldStarts(server: TestServer, count: number, spare: boolean) {
  const firstJobs: number[] = [];
  const starts: number[] = [];
  const from: string[] = [];
  for (let i = 0; i < count; i++) {
    const next = newTenantId('bded');
    const { apiKey } = await server.createTenant(next, { placement: 'dedicated', plan: 'enterprise' });
    while (!(await functionsOf(server)).items.some((f) => f.tenantId === next))
      await new Promise((r) => setTimeout(r, 50));
    if (spare)
      while ((await functionsOf(server)).spares.loaded < 1) await new Promise((r) => setTimeout(r, 50));
    firstJobs.push(await timedJob(server, apiKey));
    const fn = (await functionsOf(server)).items.find((f) => f.tenantId === next && f.model === 'finance');
    if (fn?.coldStartMs !== undefined) starts.push(fn.coldStartMs);
    from.push(fn?.startedFrom ?? '?');
  }
  return { firstJobs, starts, from };
}

async function coldAndWarm(server: TestServer): Promise<BenchResult[]> {
  const shared = await server.createTenant(newTenantId('bshared'), { plan: 'enterprise' });
  const id = newTenantId('bded');
  const dedicated = await server.createTenant(id, { placement: 'dedicated', plan: 'enterprise' });
  while (!(await functionsOf(server)).items.some((f) => f.tenantId === id))
    await new Promise((r) => setTimeout(r, 50));
  const cold = await timedJob(server, dedicated.apiKey);
  const first = (await functionsOf(server)).items.find((f) => f.tenantId === id && f.model === 'finance');
  const warm: number[] = [];
  const sharedTimes: number[] = [];
  await timedJob(server, shared.apiKey);
  for (let i = 0; i < 30; i++) {
    warm.push(await timedJob(server, dedicated.apiKey));
    sharedTimes.push(await timedJob(server, shared.apiKey));
  }
  const sharedMedian = median(sharedTimes);
  const withSpare = await coldStarts(server, 5, true);
  // The same on a server that keeps no spare: every cold start forks Node.
  const forking = await startTestServer({
    env: { SILOPOOL_WORKERS: '2', LOG_LEVEL: 'error', SILOPOOL_SPARE_FUNCTION_PROCESSES: '0' },
  });
  let withFork: Awaited<ReturnType<typeof coldStarts>>;
  try {
    withFork = await coldStarts(forking, 5, false);
  } finally {
    await forking.stop();
  }
  return [
    {
      // The server's own first request is in it too (its routes, schemas and stores run for the first time).
      name: 'dedicated cold start to first finished job, first job of a fresh server',
      value: cold,
      unit: 'ms',
      baseline: sharedMedian,
      ratio: cold / sharedMedian,
      note: `baseline: shared job, median; its process came from a ${first?.startedFrom ?? '?'}`,
    },
    {
      name: 'dedicated function process start (to ready), first of a fresh server',
      value: first?.coldStartMs ?? 0,
      unit: 'ms',
      note: `from a ${first?.startedFrom ?? '?'}`,
    },
    ...coldStartRows(
      withSpare,
      {
        jobs: '5 more tenants, spare ready (the issue 14 measure, target ≤ 150 ms)',
        start: 'bind to ready), 5 more tenants, spare ready',
      },
      sharedMedian,
    ),
    ...coldStartRows(
      withFork,
      {
        jobs: '5 tenants, no spare (SILOPOOL_SPARE_FUNCTION_PROCESSES=0: a fork each)',
        start: 'fork to ready), 5 tenants, no spare',
      },
      sharedMedian,
    ),
    {
      name: 'dedicated warm job latency (median of 30)',
      value: median(warm),
      unit: 'ms',
      baseline: sharedMedian,
      ratio: median(warm) / sharedMedian,
      note: 'submit to succeeded; baseline: shared',
    },
  ];
}

/**
 * The two result rows of one set of cold starts: first finished job (ms, against the shared job's median
 * `sharedMedian`) and the process start. `label.jobs` / `label.start` finish the rows' names.
 */
function coldStartRows(
  runs: { firstJobs: number[]; starts: number[]; from: string[] },
  label: { jobs: string; start: string },
  sharedMedian: number,
): BenchResult[] {
  const each = (xs: number[]) => xs.map((m) => m.toFixed(0)).join(', ');
  const firstJob = median(runs.firstJobs);
  return [
    {
      name: `dedicated cold start to first finished job, ${label.jobs}`,
      value: firstJob,
      unit: 'ms',
      baseline: sharedMedian,
      ratio: firstJob / sharedMedian,
      note: `median; each: ${each(runs.firstJobs)}; processes from: ${runs.from.join(', ')}`,
    },
    {
      name: `dedicated function process start (${label.start}`,
      value: median(runs.starts),
      unit: 'ms',
      note: `median; each: ${each(runs.starts)}`,
    },
  ];
}

/**
 * RSS of the server's process tree with 100 idle dedicated tenants against the same server with none. With
 * `spares` > 0 the tree holds that many spare function processes once a tenant is dedicated (none before).
 */
async function idleMemory(spares: number): Promise<BenchResult[]> {
  const server = await startTestServer({
    env: { SILOPOOL_WORKERS: '2', SILOPOOL_SPARE_FUNCTION_PROCESSES: String(spares) },
  });
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const none = treeMemoryMb(server.process.pid!);
    for (let i = 0; i < 100; i += 10) {
      await Promise.all(
        Array.from({ length: 10 }, (_, k) =>
          server.createTenant(newTenantId(`idle${i + k}`), { placement: 'dedicated' }),
        ),
      );
    }
    while ((await functionsOf(server)).items.length < 200) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 3000));
    const hundred = treeMemoryMb(server.process.pid!);
    const held = (await functionsOf(server)).spares;
    return [
      {
        name: `RSS, process tree, 100 idle dedicated tenants, SILOPOOL_SPARE_FUNCTION_PROCESSES=${spares}`,
        value: hundred.rss,
        unit: 'MB',
        baseline: none.rss,
        ratio: hundred.rss / none.rss,
        note: `baseline: no dedicated tenant; idle functions are scaled to zero; spares held: ${held.loaded} loaded, ${held.loading} loading`,
      },
      {
        name: `PSS, process tree, 100 idle dedicated tenants, SILOPOOL_SPARE_FUNCTION_PROCESSES=${spares}`,
        value: hundred.pss,
        unit: 'MB',
        baseline: none.pss,
        ratio: hundred.pss / none.pss,
        note: 'proportional set size: pages shared between the processes (the node binary) counted once in all',
      },
    ];
  } finally {
    await server.stop();
  }
}

async function onboarding(server: TestServer): Promise<BenchResult[]> {
  const createMany = async (n: number, extra: Record<string, unknown>, prefix: string) => {
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < n) {
          next++;
          await server.createTenant(newTenantId(prefix), extra);
        }
      }),
    );
    return performance.now() - started;
  };
  const shared = await createMany(1000, {}, 'onb');
  const dedicated = await createMany(50, { placement: 'dedicated' }, 'onbd');
  return [
    {
      name: 'onboard 1,000 shared tenants',
      value: shared / 1000,
      unit: 's',
      note: '8 concurrent operator requests',
    },
    {
      name: 'onboard 50 dedicated tenants',
      value: dedicated / 1000,
      unit: 's',
      baseline: (shared / 1000) * 0.05,
      ratio: dedicated / (shared * 0.05),
      note: 'baseline: 50 shared at the rate above',
    },
  ];
}

async function promotion(server: TestServer): Promise<BenchResult[]> {
  const id = newTenantId('bpromo');
  const { apiKey } = await server.createTenant(id, { plan: 'enterprise' });
  const ids: string[] = [];
  for (let i = 0; i < 1000; i += 50) {
    ids.push(
      ...(await Promise.all(
        Array.from({ length: 50 }, (_, k) => job(server, apiKey, { revenue: 1000 + i + k })),
      )),
    );
  }
  for (const jobId of ids) await finished(server, apiKey, jobId);

  // Each request's wait and when it started, so the worst one can be matched to the move step running then.
  let window: { at: number; ms: number }[] = [];
  let stop = false;
  const load = (async () => {
    for (let i = 0; !stop; i++) {
      const t0 = performance.now();
      const jobId = await job(server, apiKey, { revenue: 5000 + i });
      window.push({ at: t0, ms: performance.now() - t0 });
      const t1 = performance.now();
      await (
        await server.api(`/v1/jobs/${ids[i % ids.length]}/artifacts/workbook.xlsx`, { token: apiKey })
      ).arrayBuffer();
      await (await server.api(`/v1/jobs/${jobId}`, { token: apiKey })).arrayBuffer();
      window.push({ at: t1, ms: performance.now() - t1 });
    }
  })();
  await new Promise((r) => setTimeout(r, 3000));
  const before = Math.max(...window.map((w) => w.ms));
  window = [];
  const steps: { at: number; step: string }[] = [];
  const started = performance.now();
  const res = await server.api(`/v1/admin/tenants/${id}/placement`, {
    method: 'POST',
    token: server.operatorToken,
    body: JSON.stringify({ placement: 'dedicated' }),
  });
  const op = (await res.json()) as { id: string };
  for (;;) {
    const state = (await (
      await server.api(`/v1/admin/operations/${op.id}`, { token: server.operatorToken })
    ).json()) as { status: string; steps: { name: string; status: string }[] };
    const running = state.steps.find((s) => s.status === 'running')?.name ?? 'between steps';
    if (steps.at(-1)?.step !== running) steps.push({ at: performance.now(), step: running });
    if (state.status !== 'running') {
      if (state.status !== 'succeeded') throw new Error(`promotion ${state.status}`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const total = performance.now() - started;
  // A request the move held up may end after the poll that saw the move end: wait for it, then count
  // every request that started before that poll.
  stop = true;
  await load;
  const worst = window.filter((w) => w.at <= started + total).reduce((a, b) => (b.ms > a.ms ? b : a));
  // The step seen last before the worst request began (polled every 50 ms, so near a step's edge it may be the one before).
  const during = steps.findLast((s) => s.at <= worst.at)?.step ?? 'before the first poll';
  return [
    {
      name: 'promote a tenant with 1,000 finished jobs + artifacts, while it submits',
      value: total / 1000,
      unit: 's',
      note: 'includes 2 × 1 s grace for in-flight requests',
    },
    {
      name: 'longest request wait during the promotion',
      value: worst.ms,
      unit: 'ms',
      baseline: before,
      ratio: worst.ms / before,
      note: `submit or read; baseline: longest in the 3 s before; worst at +${Math.round(worst.at - started)} ms, during "${during}"`,
    },
  ];
}

/**
 * A fresh server's first shared job, from its first request: the function threads start with the server
 * and load their code meanwhile (from the prebuilt bundle, or the TypeScript sources through tsx without
 * one). Three servers, one after another; the median.
 */
async function firstSharedJob(): Promise<BenchResult[]> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const server = await startTestServer({ env: { SILOPOOL_WORKERS: '2', LOG_LEVEL: 'error' } });
    try {
      const { apiKey } = await server.createTenant(newTenantId('bfirst'));
      times.push(await timedJob(server, apiKey));
    } finally {
      await server.stop();
    }
  }
  return [
    {
      name: 'first shared job of a fresh server (tenant created, then submit to succeeded)',
      value: median(times),
      unit: 'ms',
      note: `median of 3 servers; each: ${times.map((m) => m.toFixed(0)).join(', ')}`,
    },
  ];
}

export const PLACEMENT_CASES = ['cold', 'first', 'promotion', 'onboarding', 'memory'] as const;
export type PlacementCase = (typeof PLACEMENT_CASES)[number];

/** The cases named in `SILOPOOL_BENCH_PLACEMENT` (comma-separated), or all of them. */
function casesFromEnv(): PlacementCase[] {
  const named = (process.env.SILOPOOL_BENCH_PLACEMENT ?? '').split(',').filter(Boolean);
  for (const name of named) {
    if (!(PLACEMENT_CASES as readonly string[]).includes(name))
      throw new Error(`Unknown placement case "${name}"; known: ${PLACEMENT_CASES.join(', ')}`);
  }
  return named.length > 0 ? (named as PlacementCase[]) : [...PLACEMENT_CASES];
}

export async function benchPlacement(cases: PlacementCase[] = casesFromEnv()): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  if (cases.includes('first')) results.push(...(await firstSharedJob()));
  if (cases.some((c) => c !== 'memory' && c !== 'first')) {
    const server = await startTestServer({ env: { SILOPOOL_WORKERS: '2', LOG_LEVEL: 'error' } });
    try {
      if (cases.includes('cold')) results.push(...(await coldAndWarm(server)));
      if (cases.includes('promotion')) results.push(...(await promotion(server)));
      if (cases.includes('onboarding')) results.push(...(await onboarding(server)));
    } finally {
      await server.stop();
    }
  }
  if (cases.includes('memory')) results.push(...(await idleMemory(0)), ...(await idleMemory(1)));
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const named = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  if (named.length > 0) process.env.SILOPOOL_BENCH_PLACEMENT = named.join(',');
  for (const r of await benchPlacement()) console.log(JSON.stringify(r));
}
