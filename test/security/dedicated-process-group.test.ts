import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functions, submit, until, waitForOperation } from '../placement/helpers.ts';
import { publishRelease, startRollout, tenantRecord } from '../releases/fixtures.ts';
import { gone, spawnedPid } from '../runtime/process-group-helpers.ts';
import { newTenantId, startTestServer, type TestServer, waitForJob } from '../support/server.ts';

// A dedicated function process runs a release's model code (a tenant's own variant), which can spawn
// processes. The host stopped only its process's pid: a process the code spawned that ignores SIGTERM
// stayed after the idle stop and after the server stopped, with the tenant's files, while the platform
// counted the function gone. A function process leads a process group of its own, and is now stopped as
// that group; what is left of the group is killed when the process exits.
let server: TestServer | undefined;
/** Its function is stopped 1 s after its last job. */
let idle: { id: string; apiKey: string };
/** Its function stays until the server stops. */
let kept: { id: string; apiKey: string };
/** Its function stays until the server is killed (SIGKILL: no host code runs). */
let orphaned: { id: string; apiKey: string };
let dataDir: string;
let markers: string;
const variant = (t: { id: string }) => `finance-${t.id}`;

/** Model code that spawns a process deaf to SIGTERM (once per function process) and waits until it is. */
const SPAWNS = (dir: string) => `run: (input, rules) => {
  if (!globalThis.spawnedOnce) {
    globalThis.spawnedOnce = true;
    const fs = process.getBuiltinModule('node:fs');
    const file = ${JSON.stringify(dir)} + '/' + process.pid + '.pid';
    const code = "process.on('SIGTERM', () => undefined); require('node:fs').writeFileSync(" +
      JSON.stringify(file) + ", String(process.pid)); setInterval(() => undefined, 1000);";
    process.getBuiltinModule('node:child_process').spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
    const end = Date.now() + 10000;
    while (!fs.existsSync(file) && Date.now() < end);
  }
  return base.run(input, rules);
}`;

beforeAll(async () => {
  markers = mkdtempSync(join(tmpdir(), 'silopool-process-group-'));
  server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' }, keepData: true });
  dataDir = server.dataDir;
  const dedicated = async (prefix: string, idleTimeoutSec: number) => {
    const id = newTenantId(prefix);
    const created = await server!.createTenant(id, {
      placement: 'dedicated',
      plan: 'enterprise',
      config: { function: { idleTimeoutSec } },
    });
    return { id, apiKey: created.apiKey };
  };
  idle = await dedicated('spawn-idle', 1);
  kept = await dedicated('spawn-kept', 300);
  orphaned = await dedicated('spawn-orphan', 300);
  const variants = [];
  for (const t of [idle, kept, orphaned])
    variants.push({
      name: variant(t),
      model: 'finance',
      tenantId: t.id,
      tenantIncarnation: String((await tenantRecord(server, t.id)).incarnation),
      version: '1.1.3',
      body: SPAWNS(join(markers, t.id)),
    });
  // The variants write the pid of the process they spawned there.
  for (const t of [idle, kept, orphaned]) mkdirSync(join(markers, t.id));
  publishRelease(server.dataDir, 'rg', { variants });
  const op = await startRollout(server, 'rg', { observeSec: 0 });
  expect((await waitForOperation(server, op.id, 60_000)).status).toBe('succeeded');
}, 120_000);

const spawned: number[] = [];
afterAll(async () => {
  await server?.stop();
  for (const pid of spawned) if (!gone(pid)) process.kill(pid, 'SIGKILL');
  rmSync(markers, { recursive: true, force: true });
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Runs a job of `t`'s variant; the function process it ran in, and the process its code spawned. */
async function runJob(t: { id: string; apiKey: string }): Promise<{ pid: number; grandchild: number }> {
  const job = await submit(server!, t.apiKey, { revenue: 1_000_000 }, {}, variant(t));
  expect(await waitForJob(server!, t.apiKey, job.id)).toMatchObject({ status: 'succeeded' });
  const fn = (await functions(server!)).find((f) => f.tenantId === t.id && f.model === 'finance');
  const pid = fn?.pid as number;
  expect(pid).toBeGreaterThan(1);
  const grandchild = spawnedPid(readFileSync(join(markers, t.id, `${pid}.pid`), 'utf8'));
  spawned.push(grandchild);
  expect(gone(grandchild)).toBe(false);
  return { pid, grandchild };
}

describe('a dedicated function process whose model code spawns a process deaf to SIGTERM', () => {
  it('an idle stop ends the spawned process with the function process', async () => {
    const { pid, grandchild } = await runJob(idle);
    await until('the idle function stopped', async () => gone(pid), 15_000);
    await until('the spawned process ended', async () => gone(grandchild), 3000);
  }, 60_000);

  it("the server's stop ends the spawned process of a function still running", async () => {
    const { grandchild } = await runJob(kept);
    await server!.stop();
    server = undefined;
    await until('the spawned process ended', async () => gone(grandchild), 3000);
  }, 60_000);

  it('a server killed with SIGKILL (no host code runs) leaves no spawned process behind either', async () => {
    server = await startTestServer({ env: { SILOPOOL_WORKERS: '1' }, dataDir });
    await until('the lanes of the tenant', async () =>
      (await functions(server!)).some((f) => f.tenantId === orphaned.id),
    );
    const { pid, grandchild } = await runJob(orphaned);
    await server.kill();
    server = undefined;
    // The function process sees its channel close and ends its process group with it.
    await until('the function process ended', async () => gone(pid), 5000);
    await until('the spawned process ended', async () => gone(grandchild), 3000);
  }, 60_000);
});
