import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, functions, submit, until, waitForOperation } from '../placement/helpers.ts';
import { publishRelease, startRollout, tenantRecord } from '../releases/fixtures.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// A dedicated function process runs a release's model code (a tenant's own variant), which can post any
// report over the process's IPC channel. The host matched `result` and `error` by call id alone and took
// `ready` at any time: a report for an event the process was not sent or had answered already, and a second
// `ready`, were taken or dropped in silence while the process went on. A report that does not fit where the
// process is (starting, ready, busy, stopping) now stops the process, as a crash does: its event fails, the
// queue delivers the message again, and the job runs once more in a new process and finishes once.
let server: TestServer;
let tenant: { id: string; apiKey: string };
/** A tenant whose process, once stopped for being idle, stays and answers the events of the next one. */
let lingerer: { id: string; apiKey: string };
/** A tenant whose process ignores SIGTERM and says nothing: once idle-stopped, it would stay for good. */
let deaf: { id: string; apiKey: string };
let markers: string;
const variant = (t = tenant) => `finance-${t.id}`;

/** What the variant's model code posts the first time it runs a job of that revenue, and what the host logs. */
const BREAKS = [
  { revenue: 1_000_001, what: 'ready again', said: /it reported ready again while busy/ },
  {
    revenue: 1_000_002,
    what: 'a result for an event it was not sent',
    said: /it answered event 987654 \(result\) while busy/,
  },
  {
    revenue: 1_000_003,
    what: 'the result of an event it answered already',
    said: /it answered event \d+ \(result\) while busy/,
  },
  {
    revenue: 1_000_004,
    what: 'an error for an event it answered already',
    said: /it answered event \d+ \(error\) while busy/,
  },
];

beforeAll(async () => {
  markers = mkdtempSync(join(tmpdir(), 'silopool-protocol-'));
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' } });
  tenant = { id: newTenantId('speaker'), apiKey: '' };
  tenant.apiKey = (
    await server.createTenant(tenant.id, { placement: 'dedicated', plan: 'enterprise' })
  ).apiKey;
  lingerer = { id: newTenantId('linger'), apiKey: '' };
  lingerer.apiKey = (
    await server.createTenant(lingerer.id, {
      placement: 'dedicated',
      plan: 'enterprise',
      config: { function: { idleTimeoutSec: 1 } },
    })
  ).apiKey;
  deaf = { id: newTenantId('deaf'), apiKey: '' };
  deaf.apiKey = (
    await server.createTenant(deaf.id, {
      placement: 'dedicated',
      plan: 'enterprise',
      config: { function: { idleTimeoutSec: 1 } },
    })
  ).apiKey;
  publishRelease(server.dataDir, 'rp', {
    variants: [
      {
        name: variant(deaf),
        model: 'finance',
        tenantId: deaf.id,
        tenantIncarnation: String((await tenantRecord(server, deaf.id)).incarnation),
        version: '1.1.3',
        body: `run: (input, rules) => {
          process.removeAllListeners('SIGTERM');
          process.on('SIGTERM', () => undefined);
          return base.run(input, rules);
        }`,
      },
      {
        name: variant(lingerer),
        model: 'finance',
        tenantId: lingerer.id,
        tenantIncarnation: String((await tenantRecord(server, lingerer.id)).incarnation),
        version: '1.1.3',
        body: `run: (input, rules) => {
          const g = globalThis;
          if (!g.lastResult) {
            g.lastResult = {};
            const send = process.send.bind(process);
            process.send = (m, ...rest) => {
              if (m && m.type === 'result') g.lastResult = m;
              return send(m, ...rest);
            };
            // Stopped, it stays, and answers the next events the host makes (their ids follow its own).
            process.removeAllListeners('SIGTERM');
            process.on('SIGTERM', () => {
              const last = g.lastResult.id;
              setInterval(() => {
                for (let k = 1; k <= 3; k++)
                  send({ type: 'result', id: last + k, response: { batchItemFailures: [] } });
              }, 5);
            });
          }
          return base.run(input, rules);
        }`,
      },
      {
        name: variant(),
        model: 'finance',
        tenantId: tenant.id,
        tenantIncarnation: String((await tenantRecord(server, tenant.id)).incarnation),
        version: '1.1.3',
        body: `run: (input, rules) => {
          const fs = process.getBuiltinModule('node:fs');
          const g = globalThis;
          if (!g.lastResult) {
            // Keeps the last answer the process gave, to give it again.
            g.lastResult = {};
            const send = process.send.bind(process);
            process.send = (m, ...rest) => {
              if (m && m.type === 'result') g.lastResult = m;
              return send(m, ...rest);
            };
          }
          const marker = ${JSON.stringify(markers)} + '/' + input.revenue;
          if (input.revenue > 1000000 && !fs.existsSync(marker)) {
            fs.writeFileSync(marker, '');
            const breaks = {
              1000001: { type: 'ready' },
              1000002: { type: 'result', id: 987654, response: { batchItemFailures: [] } },
              1000003: g.lastResult,
              1000004: { type: 'error', id: g.lastResult.id, message: 'again' },
            };
            process.send(breaks[input.revenue]);
            // The event is still running when the host reads the report.
            const end = Date.now() + 3000;
            while (Date.now() < end);
          }
          return base.run(input, rules);
        }`,
      },
    ],
  });
  const op = await startRollout(server, 'rp', { observeSec: 0 });
  expect((await waitForOperation(server, op.id, 60_000)).status).toBe('succeeded');
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(markers, { recursive: true, force: true });
});

const violations = () => server.output().match(/broke the IPC protocol: [^\n]*/g) ?? [];

async function finished(): Promise<number> {
  const metrics = await (await server.api('/metrics', { token: server.operatorToken })).text();
  const line = metrics
    .split('\n')
    .find(
      (l) =>
        l.startsWith('silopool_jobs_finished_total{') &&
        l.includes(`tenant="${tenant.id}"`) &&
        l.includes('status="succeeded"'),
    );
  return Number(line?.trim().split(' ').at(-1) ?? 0);
}

async function run(revenue: number, t = tenant) {
  const job = await submit(server, t.apiKey, { revenue }, {}, variant(t));
  return (await waitForJob(server, t.apiKey, job.id)) as {
    id: string;
    status: string;
    attempts: number;
    modelVariant?: string;
  };
}

describe('a dedicated function process that breaks the IPC protocol', () => {
  for (const { revenue, what, said } of BREAKS) {
    it(`by posting ${what} is stopped; its job runs again and finishes once`, async () => {
      // A job first, so the process has answered an event (the one whose answer it gives again).
      expect((await run(1_000_000)).status).toBe('succeeded');
      const pid = (await functions(server)).find(
        (f) => f.tenantId === tenant.id && f.model === 'finance',
      )?.pid;
      const before = await finished();
      const violationsBefore = violations().length;

      const job = await run(revenue);
      expect(job).toMatchObject({ status: 'succeeded', modelVariant: variant() });
      // The first run ended with its process; the message came back and ran once more.
      expect(job.attempts).toBe(2);
      expect(await finished()).toBe(before + 1);
      const broken = violations();
      expect(broken.length).toBe(violationsBefore + 1);
      expect(broken.at(-1)).toMatch(said);
      const now = (await functions(server)).find((f) => f.tenantId === tenant.id && f.model === 'finance');
      expect(now?.pid).not.toBe(pid);
    }, 60_000);
  }

  it("by answering, once stopped, the events of the process started after it: stopped for good; the new process's job runs", async () => {
    // Matched by call id alone, such an answer took the place of the new process's: the event waiting for
    // the new process to be ready was answered without being run, its message deleted, the job never run.
    expect((await run(1_000_000, lingerer)).status).toBe('succeeded');
    const first = (await functions(server)).find(
      (f) => f.tenantId === lingerer.id && f.model === 'finance',
    )?.pid;
    expect(first).toBeDefined();
    await until('the idle process stopped', async () =>
      (await functions(server)).some(
        (f) => f.tenantId === lingerer.id && f.model === 'finance' && f.state === 'cold',
      ),
    );
    const job = await run(1_000_000, lingerer);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
    await until('the stopped process killed', async () => !alive(first as number));
    expect(violations().at(-1)).toMatch(/it answered event \d+ \(result\) while stopping/);
  }, 60_000);

  it('by ignoring the SIGTERM of an idle stop: killed after 5 s, and the next job starts a new process', async () => {
    // The host sent SIGTERM and forgot the process: one that ignored it stayed, with the tenant's store
    // open and its memory held, beside every process started after it.
    expect((await run(1_000_000, deaf)).status).toBe('succeeded');
    const first = (await functions(server)).find((f) => f.tenantId === deaf.id && f.model === 'finance')?.pid;
    expect(first).toBeDefined();
    await until('the idle process stopped', async () =>
      (await functions(server)).some(
        (f) => f.tenantId === deaf.id && f.model === 'finance' && f.state === 'cold',
      ),
    );
    const stoppedAt = Date.now();
    expect(alive(first as number)).toBe(true);
    await until('the deaf process killed', async () => !alive(first as number), 15_000);
    expect(Date.now() - stoppedAt).toBeGreaterThan(3000);
    expect(server.output()).toContain(`pid ${first} did not end within 5s of SIGTERM; killed`);
    const job = await run(1_000_000, deaf);
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
  }, 60_000);
});
