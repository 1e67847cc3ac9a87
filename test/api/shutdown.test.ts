import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, submit, until } from '../placement/helpers.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A funds job of a few seconds: long enough to be running when the signal arrives. */
const LONG_JOB = { simulations: 40_000, fundLifeYears: 30, periodsPerYear: 4 };

function exitOf(child: ChildProcess): Promise<{ code: number | null; at: number }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve({ code: child.exitCode, at: Date.now() });
    else child.once('exit', (code) => resolve({ code, at: Date.now() }));
  });
}

async function runningJob(server: TestServer, token: string, input: Record<string, unknown>) {
  const { id } = await submit(server, token, input, {}, 'funds');
  await until(`job ${id} running`, async () => {
    const job = (await (await server.api(`/v1/jobs/${id}`, { token })).json()) as { status: string };
    return job.status === 'running';
  });
  return id;
}

async function tenants(server: TestServer) {
  const shared = newTenantId('drain');
  const dedicated = newTenantId('drain');
  const a = await server.createTenant(shared);
  const b = await server.createTenant(dedicated, { placement: 'dedicated' });
  return { shared: a.apiKey, dedicated: b.apiKey };
}

describe('graceful shutdown', () => {
  it('SIGTERM to the process group during running jobs: they finish within the grace, the server exits, nothing is redone', async () => {
    const server = await startTestServer({
      detached: true,
      keepData: true,
      env: { SILOPOOL_SHUTDOWN_GRACE_SEC: '30' },
    });
    cleanup.push(() => rmSync(server.dataDir, { recursive: true, force: true }));
    const keys = await tenants(server);
    const jobs = await Promise.all([
      runningJob(server, keys.shared, LONG_JOB),
      runningJob(server, keys.dedicated, LONG_JOB),
    ]);

    const exited = exitOf(server.process);
    const signalled = Date.now();
    // The whole group, twice (as a group signal plus npm's forwarding deliver it): one stop, not a forced one.
    process.kill(-server.process.pid!, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    process.kill(-server.process.pid!, 'SIGTERM');
    const { code, at } = await exited;
    expect(code, server.output()).toBe(0);
    expect(at - signalled).toBeLessThan(30_000);
    // The stop says it began and, once drained and closed, that it ended (it said only the first).
    await expect
      .poll(() => server.output(), { timeout: 5_000 })
      .toMatch(/SIGTERM: stopping[\s\S]*Stopped after SIGTERM in \d+\.\d s/);

    const after = await startTestServer({ dataDir: server.dataDir });
    cleanup.push(() => after.stop());
    const [shared, dedicated] = await Promise.all([
      waitForJob(after, keys.shared, jobs[0]!, { timeoutMs: 60_000 }),
      waitForJob(after, keys.dedicated, jobs[1]!, { timeoutMs: 60_000 }),
    ]);
    // Finished while draining: one attempt each, one workbook each.
    for (const job of [shared, dedicated]) {
      expect(job).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(job.artifacts).toHaveLength(1);
    }
  }, 120_000);

  it('a job longer than the grace is cut short and its message goes back: it runs again after the next start', async () => {
    const server = await startTestServer({
      detached: true,
      keepData: true,
      env: { SILOPOOL_SHUTDOWN_GRACE_SEC: '2' },
    });
    cleanup.push(() => rmSync(server.dataDir, { recursive: true, force: true }));
    const keys = await tenants(server);
    const huge = { ...LONG_JOB, simulations: 100_000 };
    const jobs = await Promise.all([
      runningJob(server, keys.shared, huge),
      runningJob(server, keys.dedicated, huge),
    ]);

    const exited = exitOf(server.process);
    const signalled = Date.now();
    process.kill(-server.process.pid!, 'SIGTERM');
    const { at } = await exited;
    // The grace (2 s) bounds the stop, whatever still runs: the jobs are cut short, not waited for (each
    // runs a second attempt after the restart, below). The bound is far above a normal stop (2.0-2.5 s, the
    // exit seen by this process) so a loaded machine cannot fail it, and far below the default grace
    // (25 s), so a stop that ignored the setting or hung on something else still fails it.
    expect(at - signalled).toBeLessThan(15_000);

    const after = await startTestServer({ dataDir: server.dataDir });
    cleanup.push(() => after.stop());
    const finals = await Promise.all([
      waitForJob(after, keys.shared, jobs[0]!, { timeoutMs: 90_000 }),
      waitForJob(after, keys.dedicated, jobs[1]!, { timeoutMs: 90_000 }),
    ]);
    for (const job of finals) {
      // The first attempt was cut short by the stop; the second, after the restart, ran to its end.
      expect(job).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(job.artifacts).toHaveLength(1);
    }
  }, 180_000);

  it('SIGTERM to `npm start` stops the server it runs (no orphan left serving)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'silopool-npm-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup.push(() => {
      if (npm.exitCode === null) npm.kill('SIGKILL');
    });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const url = await until('npm start', async () => /Silopool is running at (\S+)/.exec(out)?.[1], 60_000);
    const { pid } = JSON.parse(readFileSync(join(dataDir, 'lock-holder.json'), 'utf8')) as { pid: number };
    expect(pid).not.toBe(npm.pid);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const exited = exitOf(npm);
    npm.kill('SIGTERM');
    await exited;
    await until('the server process to end', async () => !alive(pid), 10_000);
  }, 90_000);
});
